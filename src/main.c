/* main.c: start-up as a list of named steps; each one succeeds or ends the
 * process with a message naming it. Exit codes follow memcached: 64 bad
 * usage, 71 an OS error (bind, pidfile, threads). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "net/net.h"
#include "store/store.h"

#define EXIT_USAGE 64
#define EXIT_OSERR 71

static struct settings settings;

static void die(int code, const char *step, const char *msg)
{
    fprintf(stderr, "hardcached: %s: %s\n", step, msg);
    exit(code);
}

static void load_options(int argc, char **argv)
{
    char err[512];
    settings_defaults(&settings);
    switch (options_parse_cli(&settings, argc, argv, err, sizeof(err), stdout)) {
    case OPTIONS_RUN:
        return;
    case OPTIONS_EXIT_OK:
        exit(0);
    default:
        fprintf(stderr, "%s\n", err);
        exit(EXIT_USAGE);
    }
}

static struct store *create_store(void)
{
    struct store_config cfg = {
        .mem_limit = settings.mem_limit,
        .item_size_max = settings.item_size_max,
        .growth_factor = settings.growth_factor,
        .chunk_min = settings.chunk_min,
        .evictions = settings.evictions,
        .use_cas = settings.use_cas,
        .hash_power = settings.hash_power,
    };
    struct store *st = store_create(&cfg);
    if (st == NULL) {
        die(errno == EINVAL ? EXIT_USAGE : EXIT_OSERR, "memory",
            errno == EINVAL ? "-I/--max-item-size must be at most half of -m/--memory-limit"
                            : "cannot reserve item memory");
    }
    return st;
}

/* -d: detach after binding, so bind errors still reach the terminal. */
static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        die(EXIT_OSERR, "daemonize", strerror(errno));
    }
    if (pid > 0) {
        _exit(0);
    }
    if (setsid() < 0) {
        die(EXIT_OSERR, "daemonize", strerror(errno));
    }
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) {
            close(fd);
        }
    }
}

static void write_pidfile(void)
{
    if (settings.pidfile[0] == '\0') {
        return;
    }
    FILE *f = fopen(settings.pidfile, "we");
    if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        die(EXIT_OSERR, "pidfile", strerror(errno));
    }
}

int main(int argc, char **argv)
{
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    clock_init((int64_t)time(NULL));
    load_options(argc, argv);
    struct store *st = create_store();
    struct net *n = net_bind(&settings, err, sizeof(err));
    if (n == NULL) {
        die(EXIT_OSERR, "listen", err);
    }
    if (settings.daemonize) {
        daemonize();
    }
    write_pidfile();
    if (!net_start_workers(n, st, err, sizeof(err))) {
        die(EXIT_OSERR, "workers", err);
    }
    int rc = net_serve(n);
    if (settings.pidfile[0]) {
        unlink(settings.pidfile);
    }
    return rc;
}
