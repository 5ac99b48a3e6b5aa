/* main.c: start-up as a list of named steps; each one succeeds or ends the
 * process with a message naming it (fail closed: a security step that does
 * not succeed stops the start). Exit codes follow memcached: 64 bad usage,
 * 67 unknown user (sec/privdrop.h), 71 an OS error (bind, pidfile, threads, privileges).
 * With -d the caller's process waits until the daemon serves or fails, and
 * exits with its status, so start-up errors still reach the terminal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/num.h"
#include "base/show.h"
#include "base/vlog.h"
#include "conf/audit.h"
#include "conf/cli.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "net/net.h"
#include "net/reload.h"
#include "proto/proto.h"
#include "sec/privdrop.h"
#include "sec/seccomp.h"
#include "store/store.h"

#define EXIT_USAGE 64
#define EXIT_OSERR 71

#define DAEMON_READY 'R'     /* the -d daemon's word to its waiting parent */

static struct settings settings;

/* -d: the pipe to the parent waiting for the start-up to end (daemonize). */
static int startup_report_fd = -1;

static void die(int code, const char *step, const char *msg)
{
    if (startup_report_fd >= 0) {
        /* -d: our stderr may be /dev/null by now; the parent prints it */
        dprintf(startup_report_fd, "hardcached: %s: %s\n", step, msg);
    } else {
        fprintf(stderr, "hardcached: %s: %s\n", step, msg);
    }
    exit(code);
}

static void load_options(int argc, char **argv)
{
    char err[512];
    settings_defaults(&settings);
    switch (options_parse_cli(&settings, argc, argv, err, sizeof(err), stdout)) {
    case OPTIONS_RUN:
        if (!settings.check_config) {
            options_print_ignored(&settings, stderr);   /* the audit lists them instead */
        }
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
    struct store_config cfg;
    proto_store_config(&settings, &cfg);
    struct store *st = store_create(&cfg);
    if (st == NULL) {
        die(errno == EINVAL ? EXIT_USAGE : EXIT_OSERR, "memory",
            errno == EINVAL ? "-I/--max-item-size must be at most half of -m/--memory-limit"
                            : "cannot reserve item memory");
    }
    return st;
}

/* ---- -d: detaching -------------------------------------------------------- */

/* Sockets systemd passed to us (LISTEN_PID is our pid): net_bind adopts
 * fds 3 .. 3+LISTEN_FDS-1, and rejects a bad count itself. */
static unsigned passed_sockets(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    uint64_t p, n;
    if (pid == NULL || fds == NULL || !num_parse_u64(pid, strlen(pid), &p)
        || p != (uint64_t)getpid() || !num_parse_u64(fds, strlen(fds), &n) || n > 1024) {
        return 0;
    }
    return (unsigned)n;
}

/* SECURITY: a daemon keeps no descriptor it did not open (a caller's pipe
 * would never see EOF, a caller's file or socket would stay reachable from
 * here). Called before anything of ours is open, so everything above
 * stderr is inherited -- except the sockets systemd passes. */
static void close_inherited(void)
{
    unsigned first = 3 + passed_sockets();
    if (close_range(first, ~0u, 0) == 0) {
        return;
    }
    long max = sysconf(_SC_OPEN_MAX);   /* close_range is Linux 5.9+ */
    for (long fd = first; fd < (max > 0 && max < (1L << 20) ? max : (1L << 20)); fd++) {
        close((int)fd);
    }
}

/* The daemon leaves the caller's directory: a relative -P or -s would then
 * name another file (and the exit-time unlink another one again). */
static void make_absolute(char *path, size_t size, const char *what)
{
    char cwd[SETTINGS_PATH_MAX], full[SETTINGS_PATH_MAX * 2];
    if (path[0] == '\0' || path[0] == '/') {
        return;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        die(EXIT_OSERR, what, "cannot make the path absolute: the current directory is unknown");
    }
    int n = snprintf(full, sizeof(full), "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
    if (n < 0 || (size_t)n >= size) {
        die(EXIT_USAGE, what, "the path is too long once made absolute; give an absolute path");
    }
    memcpy(path, full, (size_t)n + 1);
}

/* -d, before anything is opened: stdin/stdout/stderr exist (so nothing of
 * ours lands on fd 0-2 and gets a log line), nothing else inherited stays. */
static void detach_prepare(void)
{
    if (!settings.daemonize) {
        return;
    }
    close_inherited();
    int fd;
    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO) {
        continue;   /* a closed 0, 1 or 2 now points to /dev/null */
    }
    if (fd > STDERR_FILENO) {
        close(fd);
    }
    make_absolute(settings.pidfile, sizeof(settings.pidfile), "pidfile");
    make_absolute(settings.unix_socket, sizeof(settings.unix_socket), "unix socket (-s)");
}

/* The caller's side of -d: wait for the daemon's word. Ready: exit 0.
 * Otherwise print what it reported and exit with its status. */
static _Noreturn void wait_for_daemon(pid_t pid, int fd)
{
    char buf[1024];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof(buf) && (got = read(fd, buf + len, sizeof(buf) - len)) != 0) {
        if (got < 0 && errno != EINTR) {
            break;
        }
        len += got > 0 ? (size_t)got : 0;
    }
    if (len == 1 && buf[0] == DAEMON_READY) {
        _exit(0);
    }
    fwrite(buf, 1, len, stderr);
    int status, rc;
    while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
        continue;
    }
    if (rc != pid) {
        _exit(EXIT_OSERR);      /* reaped already (SIGCHLD ignored): the daemon failed */
    }
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "hardcached: daemonize: the daemon died during start-up: %s\n",
                strsignal(WTERMSIG(status)));
        _exit(EXIT_OSERR);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_OSERR);
}

/* -d, after binding: fork; the child leaves the caller's session and
 * directory (not with -r: a core file lands there, as in memcached) and
 * sets umask 027. stdio stays until detach_stdio, so every start-up error
 * still reaches the caller, which waits (wait_for_daemon). */
static void daemonize(void)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        die(EXIT_OSERR, "daemonize", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        die(EXIT_OSERR, "daemonize", strerror(errno));
    }
    if (pid > 0) {
        close(report[1]);
        wait_for_daemon(pid, report[0]);
    }
    close(report[0]);
    startup_report_fd = report[1];
    if (setsid() < 0) {
        die(EXIT_OSERR, "daemonize: setsid", strerror(errno));
    }
    if (!settings.enable_coredumps && chdir("/") != 0) {
        die(EXIT_OSERR, "daemonize: chdir /", strerror(errno));
    }
    umask(027);
}

/* -d, the last step before the filter (which forbids opening /dev/null):
 * stdin, stdout and stderr leave the caller's terminal or pipe; with -v the
 * log keeps stdout and stderr, as in memcached. */
static void detach_stdio(void)
{
    if (!settings.daemonize) {
        return;
    }
    fflush(NULL);
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    bool ok = fd >= 0 && dup2(fd, STDIN_FILENO) == STDIN_FILENO;
    if (ok && settings.verbose == 0) {
        ok = dup2(fd, STDOUT_FILENO) == STDOUT_FILENO && dup2(fd, STDERR_FILENO) == STDERR_FILENO;
    }
    if (!ok) {
        die(EXIT_OSERR, "daemonize: /dev/null", strerror(errno));
    }
    if (fd > STDERR_FILENO) {
        close(fd);
    }
}

/* -d: serving; the caller exits 0. */
static void report_ready(void)
{
    if (startup_report_fd >= 0) {
        char ready = DAEMON_READY;
        ssize_t w = write(startup_report_fd, &ready, 1);
        (void)w;
        close(startup_report_fd);
        startup_report_fd = -1;
    }
}

/* ---- the pidfile ------------------------------------------------------------ */

static void pidfile_refused(const char *why)
{
    char path[SHOW_IN_MAX + 4], msg[256];
    show_text(settings.pidfile, path, sizeof(path));
    snprintf(msg, sizeof(msg), "%s: %s", path, why);
    die(EXIT_OSERR, "pidfile", msg);
}

/* Checks an opened pidfile before anything is written to it; NULL if fine. */
static const char *pidfile_check(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return strerror(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return "not a regular file; refusing to write to it";
    }
    if (st.st_nlink > 1) {
        return "has other hard links; refusing to overwrite it";
    }
    if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0644 && fchmod(fd, 0644) != 0) {
        return strerror(errno);
    }
    return NULL;
}

/* -P, still as the start-up user (maybe root). SECURITY: the directory may
 * be writable by the run-as user (so that it can remove the file at exit):
 * a symlink planted there is not followed (O_NOFOLLOW), only a regular file
 * with no other link is truncated, and only after those checks; O_NONBLOCK
 * so a FIFO cannot hang the start. Mode 0644, whatever the umask. */
static void write_pidfile(void)
{
    if (settings.pidfile[0] == '\0') {
        return;
    }
    int fd = open(settings.pidfile, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644);
    if (fd < 0) {
        pidfile_refused(errno == ELOOP ? "a symbolic link; refusing to follow it"
                        : errno == ENXIO ? "not a regular file; refusing to write to it"
                        : strerror(errno));
    }
    const char *why = pidfile_check(fd);
    if (why == NULL && (ftruncate(fd, 0) != 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0)) {
        why = strerror(errno);
    }
    if (close(fd) != 0 && why == NULL) {
        why = strerror(errno);
    }
    if (why != NULL) {
        pidfile_refused(why);
    }
}

/* At exit, as the run-as user under the filter, which allows unlink of this
 * very buffer only (policy/seccomp.policy, $EXITFILE). It works when the
 * run-as user may write the directory (/run/hardcached owned by memcache,
 * systemd's RuntimeDirectory=); in a root-owned directory it fails quietly
 * and the file stays for the service manager (PIDFile=, start-stop-daemon
 * --remove-pidfile): a stale pidfile is rewritten at the next start. */
static void remove_pidfile(void)
{
    if (settings.pidfile[0] != '\0') {
        (void)unlink(settings.pidfile);
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
    if (settings.lock_memory) {
        /* -k: after the drop every locked page counts against this limit
         * (lock_memory); root lifts it, others go as far as the hard limit. */
        rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
        if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0 && getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            (void)setrlimit(RLIMIT_MEMLOCK, &rl);
        }
    }
}

/* -k: keeps cache memory off swap; before the drop, which takes
 * CAP_IPC_LOCK away. MCL_ONFAULT locks a page when first touched, so item
 * memory no class uses stays non-resident. MCL_FUTURE only without an
 * RLIMIT_MEMLOCK (raise_limits lifts it as root): after the drop every new
 * mapping counts against that limit, and a finite one refuses the workers'
 * stacks and later buffers. With a finite limit (root without
 * CAP_SYS_RESOURCE, or another user) what exists now is locked, the item
 * region among it, and a warning says later allocations are not. A failed
 * mlockall ends the start as root and is a warning otherwise (memcached). */
static void lock_memory(const struct run_as *ra)
{
    if (!settings.lock_memory) {
        return;
    }
    struct rlimit rl = { 0, 0 };
    (void)getrlimit(RLIMIT_MEMLOCK, &rl);
    bool unlimited = rl.rlim_cur == RLIM_INFINITY;
    int flags = MCL_CURRENT | (unlimited ? MCL_FUTURE : 0);
    int rc = mlockall(flags | MCL_ONFAULT);
    if (rc != 0 && errno == EINVAL) {
        rc = mlockall(flags);       /* a kernel before 4.4 */
    }
    if (rc != 0 && ra->switch_user) {
        die(EXIT_OSERR, "lock memory (-k)", strerror(errno));
    }
    unsigned long long kib = (unsigned long long)rl.rlim_cur / 1024;
    if (rc != 0) {
        fprintf(stderr, "hardcached: warning: lock memory (-k): mlockall failed (%s) with "
                "RLIMIT_MEMLOCK %llu KiB; running unlocked, memory may be swapped out "
                "(raise the limit: ulimit -l, LimitMEMLOCK=infinity)\n", strerror(errno), kib);
    } else if (!unlimited) {
        fprintf(stderr, "hardcached: warning: lock memory (-k): RLIMIT_MEMLOCK is %llu KiB; "
                "the item memory is locked, memory allocated later (connection buffers) "
                "is not (LimitMEMLOCK=infinity, or root with CAP_SYS_RESOURCE, locks all)\n", kib);
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

/* The TLS certificate and the -Y file, through the reader process that
 * every later reload uses too (net/reload.c). After -d (the reader is the
 * daemon's child), before the drop (it keeps the start-up user's access)
 * and before any thread. A bad file is a usage error, as in memcached. */
static void load_files(void)
{
    char err[1024];
    bool usage;
    if (!reload_start(&settings, &settings.allow, &usage, err, sizeof(err))) {
        die(usage ? EXIT_USAGE : EXIT_OSERR, "files", err);
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
 * creating more, and covers every thread (SECURITY: promise 4). unlink only
 * of the two names we remove at exit, and only when given. */
static void install_seccomp(void)
{
    char err[512];
    const char *const exit_files[] = { settings.pidfile, settings.unix_socket };
    if (!seccomp_install(settings.seccomp_mode, exit_files, 2, err, sizeof(err))) {
        die(EXIT_OSERR, "seccomp", err);
    }
}

int main(int argc, char **argv)
{
    char err[512];
    struct run_as ra;
    signal(SIGPIPE, SIG_IGN);
    clock_start();
    load_options(argc, argv);
    vlog_init((unsigned)settings.verbose);
    check_config();
    detach_prepare();
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
    load_files();
    lock_memory(&ra);
    drop_privileges(&ra);
    if (!net_start_workers(n, st, err, sizeof(err)) || !net_prepare(n, err, sizeof(err))) {
        die(EXIT_OSERR, "workers", err);
    }
    detach_stdio();
    install_seccomp();
    report_ready();
    int rc = net_serve(n);
    remove_pidfile();
    return rc;
}
