/* test_conn.c: one client connection (net/conn.c) driven through its own API:
 * conn_create on a worker assembled here (its libevent base and yield timer,
 * no thread, no listener, no eventfd hand-over), the other end of a
 * socketpair played by the test, the loop turned with EVLOOP_NONBLOCK. That
 * is the smallest real path: the same read/parse/write loop, buffers, budget
 * and close as the daemon's, minus accept and the queue to the worker (the
 * integration and hostile suites cover those). Checks conn.c's bounds: a
 * client that does not read its answers stops being read from (backpressure)
 * and is read again once it drains; a line past the protocol's limit closes
 * the connection; a request that needs more input buffer than the budget
 * grants gets memcached's out-of-memory answer, is closed and is counted. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "conf/options.h"
#include "conf/settings.h"
#include "net/conn.h"
#include "net/counters.h"
#include "proto/proto.h"
#include "proto/stats.h"
#include "store/store.h"

#define KiB 1024u
#define MAX_TURNS 200000         /* loop turns any wait may take, at most */
#define VALUE_LEN 100000         /* one answer is several socket buffers */
#define OOM_REPLY "SERVER_ERROR out of memory reading request\r\n"

static struct settings settings;
static struct proto_server srv;
static struct conn_home w;      /* what a worker gives its connections */
static struct thread_stats *registered;
static int client = -1;          /* the test's end of the socketpair */
static int server_fd = -1;       /* the connection's end (conn.c owns it) */

/* What the client has read, and whether the server closed. */
struct sink {
    char *p;
    size_t n, cap;
    bool eof;
};

static void fake_info(struct server_info *si)
{
    memset(si, 0, sizeof(*si));
    si->libevent_version = "test";
}

static bool fake_conns(struct buf *out)
{
    (void)out;
    return true;
}

static const struct stats_source fake_src = { fake_info, fake_conns };

/* ------------------------------------------------------------- fixture */

static void setup(void)
{
    int sv[2];
    struct store_config cfg;
    clock_init((int64_t)time(NULL));
    settings_defaults(&settings);
    settings.mem_limit = 16u * 1024 * 1024;
    proto_store_config(&settings, &cfg);
    srv = (struct proto_server){
        .store = store_create(&cfg), .settings = &settings, .stats_src = &fake_src,
    };
    ck_assert_ptr_nonnull(srv.store);
    memset(&w, 0, sizeof(w));
    w.srv = &srv;
    w.settings = &settings;
    w.base = event_base_new();
    ck_assert_ptr_nonnull(w.base);
    w.yield_ev = evtimer_new(w.base, conn_run_yielded, &w);
    ck_assert_ptr_nonnull(w.yield_ev);
    if (registered == NULL) {            /* once per process, as a worker does */
        stats_register_thread(&w.stats);
        registered = &w.stats;
    }
    net_conn_budget.limit = 0;           /* each test sets its own */
    /* nonblocking at both ends, as accept4 gives the daemon its sockets */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    server_fd = sv[0];
    client = sv[1];
}

/* Turns the worker's loop once without blocking: ready sockets, then the
 * zero-timeout yield timer. */
static void turn(void)
{
    ck_assert_int_ge(event_base_loop(w.base, EVLOOP_NONBLOCK), 0);
}

static bool conn_open(void)
{
    return w.conns != NULL;
}

static void teardown(void)
{
    if (client >= 0) {
        close(client);                   /* the server sees EOF and closes */
        client = -1;
    }
    for (int i = 0; i < MAX_TURNS && conn_open(); i++) {
        turn();
    }
    ck_assert_msg(!conn_open(), "the connection outlived its client");
    event_free(w.yield_ev);
    event_base_free(w.base);
    store_destroy(&srv.store);
    net_conn_budget.limit = 0;
}

/* Hands the server's end to a new connection, as a worker adopts a socket
 * the listener accepted (and counted). */
static struct conn *adopt(void)
{
    struct handoff h = { .fd = server_fd, .limited = false };
    atomic_fetch_add(&net_counters.curr_connections, 1);
    struct conn *c = conn_create(&w, &h);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* The network layer's counters this file checks (net/worker.h). */
static uint64_t curr_conns(void)
{
    return atomic_load(&net_counters.curr_connections);
}

static uint64_t oom_closes(void)         /* "stats": read_buf_oom */
{
    return atomic_load(&net_counters.read_buf_oom);
}

/* ------------------------------------------------------- the client side */

static size_t inq(int fd)                /* bytes waiting in fd's receive queue */
{
    int n = 0;
    ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
    return (size_t)n;
}

/* Reads whatever has arrived, without waiting. */
static void client_read(struct sink *s)
{
    while (!s->eof) {
        if (s->cap - s->n < 64 * KiB) {
            s->cap = s->cap * 2 + 64 * KiB;
            s->p = realloc(s->p, s->cap);
            ck_assert_ptr_nonnull(s->p);
        }
        ssize_t n = recv(client, s->p + s->n, s->cap - s->n, 0);
        if (n > 0) {
            s->n += (size_t)n;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            s->eof = true;               /* closed (or reset) by the server */
        } else {
            return;
        }
    }
}

/* Sends all of p, turning the loop while the socket is full; reads what
 * comes back into s when s is given (a client that keeps reading). */
static void client_send(const void *p, size_t n, struct sink *s)
{
    size_t sent = 0;
    for (int i = 0; i < MAX_TURNS && sent < n; i++) {
        ssize_t k = send(client, (const char *)p + sent, n - sent, MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
        } else {
            ck_assert_msg(k < 0 && errno == EAGAIN, "send: %s", strerror(errno));
        }
        turn();
        if (s != NULL) {
            client_read(s);
        }
    }
    ck_assert_msg(sent == n, "sent %zu of %zu bytes", sent, n);
}

static void client_send_str(const char *text, struct sink *s)
{
    client_send(text, strlen(text), s);
}

/* Turns and reads until s holds `want` bytes or the server closed. */
static void read_until(struct sink *s, size_t want)
{
    for (int i = 0; i < MAX_TURNS && s->n < want && !s->eof; i++) {
        turn();
        client_read(s);
    }
}

/* Turns and reads until the server closes (or MAX_TURNS). */
static void read_to_close(struct sink *s)
{
    for (int i = 0; i < MAX_TURNS && !s->eof; i++) {
        turn();
        client_read(s);
    }
}

/* ------------------------------------------------------------- the cases */

/* A client that sends gets and never reads: the server writes what the
 * socket takes, keeps at most its output bound, and then stops reading;
 * bytes the client sends after that stay in the socket. Once the client
 * reads, the server answers everything, in order, and reads again. */
START_TEST(unread_answers_stop_reading)
{
    static char value[VALUE_LEN];
    char head[64];
    struct sink s = { 0 };
    int small = 4096;
    struct conn *c = adopt();
    /* a small send buffer: the server's socket fills after a few KiB */
    ck_assert_int_eq(setsockopt(server_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    memset(value, 'v', sizeof(value));
    snprintf(head, sizeof(head), "set k 0 0 %d\r\n", VALUE_LEN);
    client_send_str(head, &s);
    client_send(value, sizeof(value), &s);
    client_send_str("\r\n", &s);
    read_until(&s, 8);
    ck_assert_uint_eq(s.n, 8);
    ck_assert(memcmp(s.p, "STORED\r\n", 8) == 0);
    s.n = 0;

    const int gets = 20, more = 5;
    for (int i = 0; i < gets; i++) {
        client_send_str("get k\r\n", NULL);
    }
    for (int i = 0; i < 1000 && !c->want_write; i++) {
        turn();
    }
    ck_assert_msg(c->want_write, "the server never waited for the client to read");
    size_t waiting = inq(server_fd);     /* gets it has not read yet, if any */
    uint64_t read_before = atomic_load(&w.stats.bytes_read);
    for (int i = 0; i < more; i++) {
        client_send_str("get k\r\n", NULL);
    }
    for (int i = 0; i < 1000; i++) {
        turn();
    }
    /* not one byte taken since */
    ck_assert_uint_eq(inq(server_fd), waiting + (size_t)more * 7);
    ck_assert_uint_eq(atomic_load(&w.stats.bytes_read), read_before);
    ck_assert(c->want_write);
    ck_assert_uint_le(buf_len(&c->out), proto_out_limit(settings.item_size_max));
    ck_assert_uint_le(c->out.cap, c->out.limit);

    /* the client reads: every answer arrives, then the server reads again */
    char vhead[64];
    int hn = snprintf(vhead, sizeof(vhead), "VALUE k 0 %d\r\n", VALUE_LEN);
    size_t one = (size_t)hn + VALUE_LEN + 2 + 5;
    read_until(&s, (size_t)(gets + more) * one);
    ck_assert_uint_eq(s.n, (size_t)(gets + more) * one);
    for (int i = 0; i < gets + more; i++) {
        const char *a = s.p + (size_t)i * one;
        ck_assert(memcmp(a, vhead, (size_t)hn) == 0);
        ck_assert(a[hn] == 'v' && a[hn + VALUE_LEN - 1] == 'v');
        ck_assert(memcmp(a + hn + VALUE_LEN, "\r\nEND\r\n", 7) == 0);
    }
    ck_assert_uint_eq(inq(server_fd), 0);
    ck_assert(!c->want_write);
    ck_assert(conn_open());
    free(s.p);
}
END_TEST

/* A command line past PROTO_LINE_MAX without "\n" closes the connection,
 * answering nothing, as memcached does; the same length as a multiget is
 * fine (those may reach PROTO_GET_LINE_MAX). */
START_TEST(long_line_closes)
{
    static char line[PROTO_LINE_MAX + 512];
    struct sink s = { 0 };
    uint64_t curr = curr_conns();
    adopt();
    memset(line, 'x', sizeof(line));
    memcpy(line, "set ", 4);
    client_send(line, sizeof(line), &s);
    read_to_close(&s);
    ck_assert_msg(s.eof, "a %zu-byte command line did not close the connection", sizeof(line));
    ck_assert_uint_eq(s.n, 0);
    ck_assert(!conn_open());
    ck_assert_uint_eq(curr_conns(), curr);
    free(s.p);
}
END_TEST

START_TEST(long_multiget_line_stays)
{
    static char line[PROTO_LINE_MAX + 512];
    struct sink s = { 0 };
    adopt();
    memset(line, 'x', sizeof(line));
    memcpy(line, "get ", 4);
    for (size_t i = 100; i < sizeof(line); i += 100) {
        line[i] = ' ';                   /* 99-byte keys */
    }
    client_send(line, sizeof(line), &s);
    for (int i = 0; i < 1000; i++) {
        turn();
        client_read(&s);
    }
    ck_assert(conn_open());
    ck_assert(!s.eof);
    client_send_str("\r\n", &s);
    read_until(&s, 5);
    ck_assert_uint_eq(s.n, 5);
    ck_assert(memcmp(s.p, "END\r\n", 5) == 0);
    free(s.p);
}
END_TEST

/* Even a multiget line ends at PROTO_GET_LINE_MAX: the connection closes
 * before its input buffer (line limit + one read) can be passed. */
START_TEST(multiget_line_past_its_limit_closes)
{
    size_t n = PROTO_GET_LINE_MAX + 64 * KiB;
    char *line = malloc(n);
    struct sink s = { 0 };
    struct conn *c = adopt();
    size_t in_limit = c->in.limit;
    ck_assert_ptr_nonnull(line);
    memset(line, 'k', n);
    memcpy(line, "get ", 4);
    for (size_t i = 200; i < n; i += 200) {
        line[i] = ' ';
    }
    size_t sent = 0, chunk = 16 * KiB;
    while (sent < n && conn_open()) {
        size_t k = n - sent < chunk ? n - sent : chunk;
        ck_assert_uint_le(buf_len(&c->in), in_limit);
        ssize_t r = send(client, line + sent, k, MSG_NOSIGNAL);
        if (r > 0) {
            sent += (size_t)r;
        } else if (r < 0 && errno != EAGAIN) {
            break;                        /* the server already closed */
        }
        turn();
        client_read(&s);
    }
    read_to_close(&s);
    ck_assert(s.eof);
    ck_assert(!conn_open());
    ck_assert_uint_eq(s.n, 0);
    free(line);
    free(s.p);
}
END_TEST

/* --conn-mem-limit: each buffer keeps its free allowance; a request line that
 * needs more, when the budget grants nothing more, gets memcached's answer,
 * and the connection is closed and counted (read_buf_oom). */
START_TEST(budget_refuses_growth)
{
    size_t n = 3 * OPTIONS_CONN_BUF_FREE;
    char *line = malloc(n);
    struct sink s = { 0 };
    uint64_t oom = oom_closes();
    uint64_t refused = atomic_load(&net_conn_budget.refused[BUF_IN]);
    uint64_t curr = curr_conns();
    net_conn_budget.limit = 1;           /* nothing beyond the free allowances */
    adopt();
    ck_assert_ptr_nonnull(line);
    memset(line, 'k', n);
    memcpy(line, "get ", 4);
    for (size_t i = 200; i < n; i += 200) {
        line[i] = ' ';                   /* a multiget: allowed up to 1 MiB */
    }
    size_t sent = 0;
    for (int i = 0; i < MAX_TURNS && sent < n && !s.eof; i++) {
        ssize_t r = send(client, line + sent, n - sent, MSG_NOSIGNAL);
        if (r > 0) {
            sent += (size_t)r;
        } else if (r < 0 && errno != EAGAIN) {
            break;
        }
        turn();
        client_read(&s);
    }
    read_to_close(&s);
    ck_assert_msg(s.eof, "the connection was not closed");
    ck_assert_uint_eq(s.n, sizeof(OOM_REPLY) - 1);
    ck_assert(memcmp(s.p, OOM_REPLY, s.n) == 0);
    ck_assert(!conn_open());
    ck_assert_uint_eq(oom_closes(), oom + 1);
    ck_assert_uint_gt(atomic_load(&net_conn_budget.refused[BUF_IN]), refused);
    ck_assert_uint_eq(curr_conns(), curr);
    ck_assert_uint_eq(atomic_load(&net_conn_budget.used), 0);   /* all given back */
    free(line);
    free(s.p);
}
END_TEST

/* The same request within an unlimited budget is simply answered. */
START_TEST(budget_off_grants_growth)
{
    size_t n = 3 * OPTIONS_CONN_BUF_FREE;
    char *line = malloc(n + 2);
    struct sink s = { 0 };
    uint64_t oom = oom_closes();
    adopt();
    ck_assert_ptr_nonnull(line);
    memset(line, 'k', n);
    memcpy(line, "get ", 4);
    for (size_t i = 200; i < n; i += 200) {
        line[i] = ' ';
    }
    memcpy(line + n, "\r\n", 2);
    client_send(line, n + 2, &s);
    read_until(&s, 5);
    ck_assert_uint_eq(s.n, 5);
    ck_assert(memcmp(s.p, "END\r\n", 5) == 0);
    ck_assert(conn_open());
    ck_assert_uint_eq(oom_closes(), oom);
    free(line);
    free(s.p);
}
END_TEST

/* A client that connects per request sends it at once: the worker serves
 * it when it adopts the socket (conn_start), before any poll. */
START_TEST(request_sent_before_adoption_answered_at_start)
{
    struct sink s = { 0 };
    ck_assert_int_eq(send(client, "version\r\n", 9, MSG_NOSIGNAL), 9);
    struct conn *c = adopt();
    conn_start(c);
    client_read(&s);                     /* no turn of the loop */
    ck_assert_msg(s.n > 8 && memcmp(s.p, "VERSION ", 8) == 0, "got %zu bytes", s.n);
    ck_assert(conn_open());
    free(s.p);
}
END_TEST

/* After a read that emptied the socket the worker waits for the poll
 * instead of reading again; whatever the client sends next (or pipelines
 * meanwhile) is still served, and its close still seen. */
START_TEST(after_a_short_read_the_poll_brings_the_rest)
{
    struct sink s = { 0 };
    adopt();
    client_send_str("set k 0 0 1\r\nx\r\n", &s);
    read_until(&s, 8);
    ck_assert_int_eq((int)s.n, 8);
    ck_assert(memcmp(s.p, "STORED\r\n", 8) == 0);
    ck_assert_int_eq(send(client, "get k\r\nget k\r\n", 14, MSG_NOSIGNAL), 14);
    static const char twice[] = "VALUE k 0 1\r\nx\r\nEND\r\nVALUE k 0 1\r\nx\r\nEND\r\n";
    read_until(&s, 8 + strlen(twice));
    ck_assert_int_eq((int)s.n, (int)(8 + strlen(twice)));
    ck_assert(memcmp(s.p + 8, twice, strlen(twice)) == 0);
    close(client);
    client = -1;
    for (int i = 0; i < MAX_TURNS && conn_open(); i++) {
        turn();
    }
    ck_assert(!conn_open());
    free(s.p);
}
END_TEST

/* The peer's address is the one accept gave the listener (the hand-over
 * carries it): the worker does not ask the socket again. */
START_TEST(peer_address_comes_with_the_handoff)
{
    struct handoff h = { .fd = server_fd, .limited = false };
    struct sockaddr_in *in4 = (struct sockaddr_in *)&h.peer;
    in4->sin_family = AF_INET;
    in4->sin_port = htons(4242);
    in4->sin_addr.s_addr = htonl(0x7f000001);
    atomic_fetch_add(&net_counters.curr_connections, 1);
    struct conn *c = conn_create(&w, &h);
    ck_assert_ptr_nonnull(c);
    char name[80];
    conn_format_addr((const struct sockaddr *)&c->peer, name, sizeof(name));
    ck_assert_str_eq(name, "tcp:127.0.0.1:4242");
}
END_TEST

int main(void)
{
    Suite *su = suite_create("conn");
    TCase *tc = tcase_create("conn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, unread_answers_stop_reading);
    tcase_add_test(tc, long_line_closes);
    tcase_add_test(tc, long_multiget_line_stays);
    tcase_add_test(tc, multiget_line_past_its_limit_closes);
    tcase_add_test(tc, budget_refuses_growth);
    tcase_add_test(tc, budget_off_grants_growth);
    tcase_add_test(tc, request_sent_before_adoption_answered_at_start);
    tcase_add_test(tc, after_a_short_read_the_poll_brings_the_rest);
    tcase_add_test(tc, peer_address_comes_with_the_handoff);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
