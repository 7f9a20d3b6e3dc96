/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd's two protocols for a service, spoken without libsystemd: socket
 * activation (the listening socket from fd 3, named by LISTEN_PID and
 * LISTEN_FDS, as sd_listen_fds(3) reads them) and readiness (a datagram
 * to $NOTIFY_SOCKET, as sd_notify(3) sends it).
 */
#ifndef VFIO_MIGRATE_SYSTEMD_H
#define VFIO_MIGRATE_SYSTEMD_H

#include <stddef.h>

/* recv -l systemd: "fd:3" into @uri when systemd passed this process one
 * socket (the variables are then unset, for no child to take them);
 * -errno and a message naming what was missing otherwise. */
int sd_listen_uri(char *uri, size_t size, char *err, size_t err_size);

/* READY=1 with @status to $NOTIFY_SOCKET; 0 when it is not set (not run
 * by systemd), else 0 or -errno with the reason in @err. */
int sd_ready(const char *status, char *err, size_t err_size);

#endif
