/* main.c: start-up as a list of named steps; each one succeeds or ends the
 * process with a message naming it (fail closed: a security step that does
 * not succeed stops the start). Exit codes follow memcached: 64 bad usage,
 * 67 unknown user (sec/privdrop.h), 71 an OS error (bind, pidfile, threads, privileges). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/vlog.h"
#include "conf/audit.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "net/net.h"
#include "sec/privdrop.h"
#include "sec/seccomp.h"
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
        if (settings.check_config) {
            exit(audit_report_invalid(&settings, err, stdout, stderr));
        }
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
        .adaptive = true,
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

/* While still privileged: enough descriptors for -c (memcached's rule) and
 * core files only with -r. */
static void raise_limits(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)settings.max_conns + 64;   /* clients + our own fds */
    rlim_t need = (rlim_t)settings.max_conns;        /* memcached's minimum */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        struct rlimit raised = { want, rl.rlim_max > want ? rl.rlim_max : want };
        if (setrlimit(RLIMIT_NOFILE, &raised) != 0 && rl.rlim_cur < need) {
            raised.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
            raised.rlim_max = rl.rlim_max;
            if (raised.rlim_cur < need || setrlimit(RLIMIT_NOFILE, &raised) != 0) {
                die(EXIT_OSERR, "limits", "cannot raise the open-files limit for "
                    "-c/--conn-limit; start as root or ask for fewer connections");
            }
        }
    }
    if (settings.enable_coredumps) {
        rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
        (void)setrlimit(RLIMIT_CORE, &rl);
    }
}

/* -k: keeps cache contents off swap; needs privilege, so before the drop. */
static void lock_memory(void)
{
    if (settings.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        die(EXIT_OSERR, "lock memory (-k)", strerror(errno));
    }
}

/* --check-config (SPEC §6): audit what a start would run with, print the
 * findings, exit 0/1/2; nothing is bound, written or dropped. */
static void check_config(void)
{
    if (settings.check_config) {
        exit(audit_run(&settings, stdout));
    }
}

/* Resolved first, so a missing user fails before anything is bound. */
static void resolve_user(struct run_as *ra)
{
    char err[512];
    if (!privdrop_resolve(settings.user, ra, err, sizeof(err))) {
        die(ra->fail_status, "user", err);
    }
}

static void drop_privileges(const struct run_as *ra)
{
    char err[512];
    if (!privdrop_apply(ra, settings.enable_coredumps, err, sizeof(err))) {
        die(EXIT_OSERR, "drop privileges", err);
    }
}

/* After the last socket, eventfd and thread exist: the filter forbids
 * creating more, and covers every thread (SECURITY: promise 4). */
static void install_seccomp(void)
{
    char err[512];
    if (!seccomp_install(settings.seccomp_mode, err, sizeof(err))) {
        die(EXIT_OSERR, "seccomp", err);
    }
}

int main(int argc, char **argv)
{
    char err[512];
    struct run_as ra;
    signal(SIGPIPE, SIG_IGN);
    clock_init((int64_t)time(NULL));
    load_options(argc, argv);
    vlog_init((unsigned)settings.verbose);
    check_config();
    resolve_user(&ra);
    raise_limits();
    struct store *st = create_store();
    struct net *n = net_bind(&settings, err, sizeof(err));
    if (n == NULL) {
        die(EXIT_OSERR, "listen", err);
    }
    if (settings.daemonize) {
        daemonize();
    }
    write_pidfile();
    lock_memory();
    drop_privileges(&ra);
    if (!net_start_workers(n, st, err, sizeof(err)) || !net_prepare(n, err, sizeof(err))) {
        die(EXIT_OSERR, "workers", err);
    }
    install_seccomp();
    int rc = net_serve(n);
    if (settings.pidfile[0]) {
        unlink(settings.pidfile);
    }
    return rc;
}
