// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the parsers of untrusted command-line text: sizes,
 * rates, state names and the simulator's device spec.  Each must accept or
 * refuse with -EINVAL/-ERANGE and a message, never crash or overrun.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "vfmig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *text = malloc(len + 1), err[256];
	struct sim_config cfg;
	uint64_t v;
	int ret;

	if (!text)
		return 0;
	memcpy(text, data, len);
	text[len] = 0; /* the parsers take C strings, as argv gives them */
	err[0] = 0;
	ret = vfmig_parse_size(text, &v, err, sizeof(err));
	if (ret && ret != -EINVAL && ret != -ERANGE)
		abort();
	if (ret && !err[0])
		abort(); /* a refusal always says why */
	ret = vfmig_parse_rate(text, &v, err, sizeof(err));
	if (ret && ret != -EINVAL && ret != -ERANGE)
		abort();
	ret = vfmig_state_parse(text);
	if (ret >= 0 && strcmp(vfmig_state_name(ret), "unknown") == 0)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	sim_config_parse(text, &cfg, err, sizeof(err));
	free(text);
	return 0;
}
