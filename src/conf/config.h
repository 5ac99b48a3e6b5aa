/* config.h: the config file (--config FILE; format in hardcached.conf(5)).
 * Read by cli.c between its passes over argv; it applies each line through
 * the option table (options.h) and knows nothing of the command line. */
#ifndef HC_CONF_CONFIG_H
#define HC_CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/settings.h"

/* One "name = value" a line, names are the long flags without dashes and
 * the -o keys, '#' starts a comment outside quotes, blank lines are fine,
 * CRLF is fine. A value may be enclosed in "..." or '...' (removed; inside,
 * '#' and blanks are kept); quote characters are never part of a value.
 * Only OPT_REPEATABLE names may appear twice; OPT_CLI_ONLY names are
 * refused. Applies to *s in order; does not validate (the command line
 * comes next). text need not be NUL-terminated; at most OPTIONS_CONFIG_MAX
 * bytes. False with "hardcached: FILENAME:LINE: name: what was expected,
 * got ..." in err; *s may then hold part of the file (the caller exits). */
#define OPTIONS_CONFIG_MAX (1024 * 1024)
bool options_parse_config_text(struct settings *s, const char *text, size_t len,
                               const char *filename, char *err, size_t errlen);

/* Reads path (a regular file of at most OPTIONS_CONFIG_MAX bytes) and
 * parses it as above; errors name the file ("hardcached: FILE: cannot
 * open: ...") or the line. */
bool options_parse_config_file(struct settings *s, const char *path, char *err,
                               size_t errlen);

#endif
