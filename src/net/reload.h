/* reload.h: the files the daemon reads after start-up -- the TLS
 * certificate, key and CA, the -Y credentials, the --allow-file lists --
 * all come through one privilege-separated reader (sec/reader.h), at
 * start-up and again on "refresh_certs" and SIGHUP. A reload that fails
 * keeps what was in force and says why. */
#ifndef HC_NET_RELOAD_H
#define HC_NET_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf/settings.h"

/* Starts the reader for the files s names and loads the certificates and
 * the credentials through it (the allowlist files were read with the
 * options). allow is the allowlist a SIGHUP replaces. False + err; *usage
 * tells a bad file (exit 64) from a failing system (71). Before threads. */
bool reload_start(const struct settings *s, struct allowlist **allow, bool *usage,
                  char *err, size_t errlen);

/* "refresh_certs": the certificates only, as memcached. Any thread. */
bool reload_certs(char *msg, size_t msglen);

/* SIGHUP, on the listener's thread (the only reader of the allowlist):
 * certificates, credentials and allowlist; each keeps its old state when
 * its new files are bad. Counted in config_reloads / config_reload_errors. */
void reload_all(void);

/* The reader's pid, 0 when none was needed. */
pid_t reload_reader_pid(void);

#endif
