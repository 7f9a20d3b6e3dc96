/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dropping the capabilities a command no longer needs (libcap). */
#ifndef VFIO_MIGRATE_PRIVS_H
#define VFIO_MIGRATE_PRIVS_H

#include <stdbool.h>

/*
 * Set no_new_privs and drop every capability from all sets (bounding and
 * ambient included); with @verbose say on stderr what was dropped.  0, or
 * -1 after printing why it failed.
 */
int privs_drop(bool verbose);

#endif
