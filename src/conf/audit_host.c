/* audit_host.c: the facts --check-config needs about the host, gathered
 * once: the only part of the audit that talks to the system. Who we are and
 * who -u is, physical memory (sysconf, not /proc/meminfo, which systemd's
 * ProcSubset=pid hides), the open-files limit, LISTEN_FDS, what each listen
 * entry resolves to (getaddrinfo, as net_bind does), the owner and mode of
 * each file the configuration came from or names and of its directory,
 * whether the files the start reads (TLS, -Y) open for us, the -Y file's
 * syntax (sec/auth.c's parser), and ufw's rules. Nothing here changes
 * anything; `ufw status verbose` is only run as root, when the daemon would
 * listen beyond loopback, with a clean environment and a deadline. */
#include "conf/audit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sec/auth.h"

/* The kernel's default for fs.nr_open, when /proc/sys is hidden. */
#define NR_OPEN_DEFAULT (1024ull * 1024)

/* Printable ASCII copy (operator paths and names go into messages). */
static void printable_copy(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *in != '\0' && n + 1 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[n] = '\0';
}

/* --- identity, memory, limits --------------------------------------------- */

static void probe_identity(const struct settings *s, struct audit_host *h)
{
    const struct passwd *pw;
    h->euid = geteuid();
    pw = getpwuid(h->euid);
    printable_copy(pw ? pw->pw_name : "", h->self, sizeof h->self);
    pw = getpwnam(s->user);
    h->user_known = pw != NULL;
    if (pw != NULL) {
        h->user_uid = pw->pw_uid;
        h->user_gid = pw->pw_gid;
    }
}

static void probe_memory(struct audit_host *h)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    h->phys_bytes = pages > 0 && size > 0
                  ? (unsigned long long)pages * (unsigned long long)size : 0;
}

static unsigned long long read_nr_open(void)
{
    char buf[32];
    ssize_t n = -1;
    int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    if (n <= 0) {
        return NR_OPEN_DEFAULT;
    }
    buf[n] = '\0';
    unsigned long long v = strtoull(buf, NULL, 10);
    return v > 0 ? v : NR_OPEN_DEFAULT;
}

/* The hard limit is what main.c can raise the soft limit to; as root it
 * can raise the hard limit too, up to fs.nr_open. */
static void probe_nofile(struct audit_host *h)
{
    struct rlimit rl;
    h->nofile_max = 0;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY) {
        return;
    }
    h->nofile_max = rl.rlim_max;
    if (h->euid == 0) {
        unsigned long long nr = read_nr_open();
        h->nofile_max = nr > h->nofile_max ? nr : h->nofile_max;
    }
}

/* --- listen addresses ----------------------------------------------------- */

static void add_addr(struct audit_host *h, const struct sockaddr *sa, uint16_t port,
                     bool notls)
{
    struct audit_addr a = { .port = port, .family = sa->sa_family, .notls = notls };
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct in_addr *in = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        inet_ntop(AF_INET, in, ip, sizeof ip);
        a.loopback = (ntohl(in->s_addr) >> 24) == 127;
        snprintf(a.text, sizeof a.text, "%s:%u", ip, (unsigned)port);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        inet_ntop(AF_INET6, in6, ip, sizeof ip);
        a.loopback = IN6_IS_ADDR_LOOPBACK(in6) ||
                     (IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127);
        snprintf(a.text, sizeof a.text, "[%s]:%u", ip, (unsigned)port);
    } else {
        return;
    }
    for (int i = 0; i < h->naddrs; i++) {
        if (strcmp(h->addrs[i].text, a.text) == 0) {
            h->addrs[i].notls = h->addrs[i].notls || notls;   /* the plainer one counts */
            return;
        }
    }
    if (h->naddrs < AUDIT_MAX_ADDRS) {
        h->addrs[h->naddrs++] = a;
    }
}

/* The same lookup net_bind makes (listener.c bind_host). */
static void add_host(struct audit_host *h, const char *host, uint16_t port, bool notls)
{
    struct addrinfo hints, *res = NULL;
    char portstr[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    int rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (rc != 0) {
        if (h->unresolved[0] == '\0') {
            printable_copy(host, h->unresolved, sizeof h->unresolved);
            printable_copy(gai_strerror(rc), h->unresolved_why, sizeof h->unresolved_why);
        }
        return;
    }
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        add_addr(h, ai->ai_addr, port, notls);
    }
    freeaddrinfo(res);
}

static void probe_listen(const struct settings *s, struct audit_host *h)
{
    h->socket_activated = getenv("LISTEN_FDS") != NULL;
    if (s->unix_socket[0] != '\0' || h->socket_activated) {
        return;
    }
    if (s->nlisten == 0) {
        /* OPTIONS_DEFAULT_LISTEN, as net_bind binds it */
        add_host(h, "127.0.0.1", s->port, false);
        add_host(h, "::1", s->port, false);
        return;
    }
    for (int i = 0; i < s->nlisten; i++) {
        add_host(h, s->listen[i].host, s->listen[i].port ? s->listen[i].port : s->port,
                 s->listen[i].notls);
    }
}

/* --- files ------------------------------------------------------------------ */

static struct audit_file *probe_file(struct audit_host *h, const char *role,
                                     const char *path)
{
    struct stat st;
    char dir[SETTINGS_PATH_MAX];
    if (h->nfiles >= AUDIT_MAX_FILES || path[0] == '\0') {
        return NULL;
    }
    struct audit_file *f = &h->files[h->nfiles++];
    f->role = role;
    printable_copy(path, f->path, sizeof f->path);
    if (stat(path, &st) == 0) {
        f->known = true;
        f->uid = st.st_uid;
        f->mode = st.st_mode;
    }
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
    } else {
        slash[slash == dir] = '\0';      /* "/x" -> "/" */
    }
    printable_copy(dir, f->dir, sizeof f->dir);
    if (stat(dir, &st) == 0) {
        f->dir_known = true;
        f->dir_uid = st.st_uid;
        f->dir_mode = st.st_mode;
    }
    return f;
}

/* Opens a file the start reads, as the start would (this user); O_NONBLOCK
 * so a FIFO cannot hang the audit. The descriptor, or -1 with f saying why. */
static int open_as_start(struct audit_file *f, const char *path)
{
    struct stat st;
    f->read_at_start = true;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        f->read_errno = errno;
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        f->not_regular = true;
        close(fd);
        return -1;
    }
    return fd;
}

/* A file the start reads (a TLS file): may we open it? */
static void probe_start_file(struct audit_host *h, const char *role, const char *path,
                             bool secret)
{
    struct audit_file *f = probe_file(h, role, path);
    if (f != NULL) {
        f->secret = secret;
        int fd = open_as_start(f, path);
        if (fd >= 0) {
            close(fd);
        }
    }
}

/* Up to AUDIT_AUTH_FILE_MAX bytes of fd, NUL-terminated, or NULL. */
static char *read_all(int fd, size_t *len)
{
    char *buf = malloc(AUDIT_AUTH_FILE_MAX + 1);
    size_t n = 0;
    while (buf != NULL && n < AUDIT_AUTH_FILE_MAX) {
        ssize_t r = read(fd, buf + n, AUDIT_AUTH_FILE_MAX - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
    }
    if (buf != NULL) {
        buf[n] = '\0';
    }
    *len = n;
    return buf;
}

/* The -Y file (or -S's, same format): its owner and mode, whether it opens,
 * and whether sec/auth.c would take it. A file past the size limit is left
 * to the start to refuse. */
static void probe_auth_file(const struct settings *s, struct audit_host *h)
{
    struct audit_file *f = probe_file(h, s->sasl ? AUDIT_ROLE_SASL_FILE : AUDIT_ROLE_AUTH_FILE,
                                      s->auth_file);
    size_t len = 0;
    if (f == NULL) {
        return;
    }
    f->secret = true;
    int fd = open_as_start(f, s->auth_file);
    if (fd < 0) {
        return;
    }
    char *data = read_all(fd, &len);
    close(fd);
    if (data != NULL && len < AUDIT_AUTH_FILE_MAX) {
        char why[sizeof h->auth_err];
        struct auth_db *db = auth_db_parse(data, len, why, sizeof why);
        if (db == NULL) {
            h->auth_invalid = true;
            printable_copy(why, h->auth_err, sizeof h->auth_err);
        } else {
            auth_db_free(db);
        }
    }
    free(data);
}

/* SECURITY: with -Z, the key is what the server proves itself with, and
 * the CA file decides whose certificates are taken: both are audited like
 * the configuration. Without -Z they are never read (memcached's way). */
static void probe_files(const struct settings *s, struct audit_host *h)
{
    probe_file(h, "config file", s->config_file);
    for (int i = 0; i < s->nallow_files; i++) {
        probe_file(h, "allowlist file", s->allow_files[i]);
    }
    if (s->ssl_enabled) {
        bool key_apart = s->ssl_key[0] != '\0';
        probe_start_file(h, key_apart ? "TLS certificate file" : "TLS certificate and key "
                         "file", s->ssl_chain_cert, !key_apart);
        probe_start_file(h, "TLS key file", s->ssl_key, true);
        probe_start_file(h, "TLS CA file", s->ssl_ca_cert, false);
    }
    probe_auth_file(s, h);
}

/* --- ufw ---------------------------------------------------------------------- */

/* IPV6=yes in /etc/default/ufw (ufw filters IPv6 only then). Unreadable:
 * assume Debian's default, yes. */
static bool ufw_filters_ipv6(void)
{
    char buf[8192];
    ssize_t n = -1;
    int fd = open("/etc/default/ufw", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
    }
    if (n < 0) {
        return true;
    }
    buf[n] = '\0';
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "IPV6=", 5) == 0) {
            const char *v = line + 5 + (line[5] == '"' || line[5] == '\'');
            return strncmp(v, "yes", 3) == 0;
        }
    }
    return false;           /* ufw's own default when the line is missing */
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ufw_child(int out_fd)
{
    static char *const argv[] = { "ufw", "status", "verbose", NULL };
    static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                                  "LANG=C", NULL };
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(null, STDERR_FILENO) < 0) {
        _exit(126);
    }
    close_range(3, ~0u, 0);         /* inherited sockets (LISTEN_FDS) stay ours */
    signal(SIGPIPE, SIG_DFL);
    execve(AUDIT_UFW_PATH, argv, envp);
    _exit(127);
}

/* Reads the child's output until EOF or the deadline; false on timeout or
 * overflow (why set). */
static bool ufw_read(int fd, char *out, size_t outlen, char *why, size_t whylen)
{
    size_t n = 0;
    long long deadline = now_ms() + AUDIT_UFW_TIMEOUT_MS;
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            snprintf(why, whylen, "ufw status did not answer within %d s",
                     AUDIT_UFW_TIMEOUT_MS / 1000);
            return false;
        }
        ssize_t r = read(fd, out + n, outlen - 1 - n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (r <= 0) {
            out[n] = '\0';
            return true;
        }
        n += (size_t)r;
        if (n == outlen - 1) {
            snprintf(why, whylen, "ufw status printed more than %zu bytes", outlen - 1);
            return false;
        }
    }
}

static bool ufw_run(struct audit_host *h)
{
    int fds[2], status = 0;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(h->ufw_why, sizeof h->ufw_why, "pipe: %s", strerror(errno));
        return false;
    }
    pid_t pid = fork();
    if (pid == 0) {
        ufw_child(fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        snprintf(h->ufw_why, sizeof h->ufw_why, "fork: %s", strerror(errno));
        close(fds[0]);
        return false;
    }
    bool ok = ufw_read(fds[0], h->ufw_status, sizeof h->ufw_status, h->ufw_why,
                       sizeof h->ufw_why);
    close(fds[0]);
    if (!ok) {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        snprintf(h->ufw_why, sizeof h->ufw_why, "ufw status failed (%s %d)",
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        ok = false;
    }
    return ok;
}

/* SECURITY: run only where it can answer (root) and matters (beyond
 * loopback); as the service user inside the unit it cannot read ufw's
 * state, and says so as an info finding, never a critical one. */
static void probe_ufw(struct audit_host *h)
{
    bool beyond = false;
    for (int i = 0; i < h->naddrs; i++) {
        beyond = beyond || !h->addrs[i].loopback;
    }
    h->ufw = AUDIT_UFW_NOT_ASKED;
    if (!beyond || access(AUDIT_UFW_PATH, X_OK) != 0) {
        return;
    }
    h->ufw_ipv6 = ufw_filters_ipv6();
    if (h->euid != 0) {
        h->ufw = AUDIT_UFW_UNREADABLE;
        snprintf(h->ufw_why, sizeof h->ufw_why, "not running as root");
        return;
    }
    h->ufw = ufw_run(h) ? AUDIT_UFW_READ : AUDIT_UFW_UNREADABLE;
}

void audit_host_probe(const struct settings *s, struct audit_host *h)
{
    memset(h, 0, sizeof *h);
    probe_identity(s, h);
    probe_memory(h);
    probe_nofile(h);
    probe_listen(s, h);
    probe_files(s, h);
    probe_ufw(h);
}
