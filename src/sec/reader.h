/* reader.h: the file reader, a separate process forked during start-up
 * (before the privilege drop of the daemon and before its seccomp filter)
 * that reads the files a reload needs -- the TLS certificate, key and CA,
 * the -Y file, the --allow-file lists -- and hands their bytes over a
 * socketpair. It knows only the paths it was started with and is asked
 * for all of them at once, so the daemon can never make it open anything
 * else. It has no network (a new network namespace when root, and its
 * filter refuses socket(2)), no capability but CAP_DAC_READ_SEARCH (when
 * root: a key owned by the service user stays readable), no_new_privs and its own
 * seccomp filter (policy/reader.policy): read, write to its socket, openat
 * read-only, fstat, close, exit; no memory calls, its one buffer exists
 * before the filter. It dies with the daemon. The design is OpenSSH's privilege
 * separation turned round: the network-facing process stays unable to
 * open files (SPEC §8 promise 4) and the helper that can open them cannot
 * reach the network. */
#ifndef HC_SEC_READER_H
#define HC_SEC_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define READER_MAX_FILES 16
#define READER_FILE_MAX (4u << 20)   /* a larger file is refused (EFBIG) */

struct reader;

struct reader_file {
    int err;            /* 0, or the errno that reading the file met */
    char *data;         /* len bytes and a NUL after them; NULL when err */
    size_t len;
};

/* Forks the reader; it may read exactly paths[0..n) (copied by the fork;
 * a relative path stays relative to the working directory of this call).
 * n may be 0. Returns once the reader runs under its filter; NULL + one-line
 * err on failure (the reader is then reaped). Call before threads exist and
 * after daemonizing: the reader dies (SIGKILL) when the thread that forked
 * it ends. The caller ignores SIGPIPE (main does), so a write to a dead
 * reader is an error, not a signal. */
struct reader *reader_start(const char *const *paths, size_t n, char *err, size_t errlen);

/* Reads every file again: out[i] for paths[i]. Each file is opened anew,
 * following symlinks, so a file replaced by rename or a re-pointed symlink
 * (certbot) gives its new bytes. A file that cannot be read leaves its errno
 * in out[i].err (a missing file ENOENT, not a regular file EINVAL, over
 * READER_FILE_MAX EFBIG, memory short here ENOMEM) and the others are still
 * read. False + err when the reader is gone or answered nonsense (then every
 * out[i] is empty, and every later call fails the same way). Thread-safe:
 * callers are served one at a time. Makes only read(2) and write(2) on the
 * socket it already holds (and malloc), so worker threads may call it under
 * the daemon's filter. */
bool reader_fetch(struct reader *r, struct reader_file out[], char *err, size_t errlen);
void reader_files_free(struct reader_file files[], size_t n);

/* Closes the daemon's end (the reader sees end of file and exits) and frees
 * r; NULLs *r. Does not wait: the reader stays the caller's child to reap. */
void reader_destroy(struct reader **r);

/* The reader's pid (tests look at its /proc status). */
pid_t reader_pid(const struct reader *r);

/* The reader's own filter, for a test that loads it in a forked child and
 * makes a forbidden call. False + err when it cannot be installed. */
bool reader_filter_install(char *err, size_t errlen);

#endif
