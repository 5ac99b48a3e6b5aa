/* cli.h: the command line, the one entry point that turns argv into the
 * daemon's settings: it reads the config file (config.h) between its passes
 * and ends with the checks between options (options_validate). */
#ifndef HC_CONF_CLI_H
#define HC_CONF_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "conf/settings.h"

enum options_result {
    OPTIONS_RUN,
    OPTIONS_EXIT_OK,   /* -h or -V printed */
    OPTIONS_ERROR,
};

/* Parses argv over the defaults already in *s, in three passes: argv is
 * checked in order on a scratch copy (errors, -h and -V come out as they
 * would in one pass) while the OPT_EARLY rows (--config, --check-config,
 * --format, --fail-on) are applied to *s; then the --config file is read;
 * then argv is applied again, so the command line overrides the file. On
 * error writes a one-line message ("hardcached: ...", naming the option, or
 * FILE:LINE, and the accepted form) into err (no trailing newline) and
 * returns OPTIONS_ERROR; the caller prints it and exits 64 (EX_USAGE), or 2
 * when s->check_config is set (it is whenever --check-config is in argv).
 * -h / -V print to out. Ends with options_validate(). */
enum options_result options_parse_cli(struct settings *s, int argc,
                                      char *const argv[], char *err,
                                      size_t errlen, FILE *out);

#endif
