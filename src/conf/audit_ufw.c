/* audit_ufw.c: reads `ufw status verbose` (LC_ALL=C) and says whether TCP
 * port P is open to every source. Pure text in, verdict out, so tests feed
 * it ufw's real layouts. ufw stops at the first matching rule: the rules
 * are walked in order, and only rules that match every source ("Anywhere")
 * decide; a rule for some sources leaves the others to the next rules and
 * finally to the default incoming policy. Doubt counts against safety: an
 * ALLOW limited to one interface or destination address still opens the
 * port (on that interface), a DENY limited that way does not close it. */
#include "conf/audit.h"

#include <stdlib.h>
#include <string.h>

#define UFW_LINE_MAX 512

enum ufw_action { ACT_NONE, ACT_ALLOW, ACT_DENY };

/* One rule line, split. */
struct ufw_rule {
    char to[UFW_LINE_MAX];          /* "11211/tcp", "10.0.0.5 11211/tcp (v6)" */
    char from[UFW_LINE_MAX];        /* "Anywhere", "10.0.0.0/8" */
    enum ufw_action action;
    bool incoming;
};

static const struct { const char *word; enum ufw_action action; } ufw_actions[] = {
    { "ALLOW", ACT_ALLOW }, { "LIMIT", ACT_ALLOW }, { "DENY", ACT_DENY }, { "REJECT", ACT_DENY },
};

static void trim_copy(const char *p, size_t n, char *out, size_t outlen)
{
    while (n > 0 && *p == ' ') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == ' ') {
        n--;
    }
    n = n < outlen - 1 ? n : outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* "TO  ACTION [IN|OUT|FWD]  FROM [# comment]". The action is the first
 * ALLOW/LIMIT/DENY/REJECT word after the To column. */
static bool split_rule(const char *line, struct ufw_rule *r)
{
    char buf[UFW_LINE_MAX];
    trim_copy(line, strlen(line), buf, sizeof buf);
    char *hash = strstr(buf, " # ");
    if (hash != NULL) {
        *hash = '\0';               /* the rule's comment */
    }
    for (char *p = strchr(buf, ' '); p != NULL; p = strchr(p + 1, ' ')) {
        for (size_t i = 0; i < sizeof ufw_actions / sizeof ufw_actions[0]; i++) {
            size_t n = strlen(ufw_actions[i].word);
            if (strncmp(p + 1, ufw_actions[i].word, n) != 0 ||
                (p[1 + n] != ' ' && p[1 + n] != '\0')) {
                continue;
            }
            char *rest = p + 1 + n;
            while (*rest == ' ') {
                rest++;
            }
            r->incoming = true;
            if (strncmp(rest, "IN ", 3) == 0) {
                rest += 3;
            } else if (strncmp(rest, "OUT ", 4) == 0 || strncmp(rest, "FWD ", 4) == 0) {
                r->incoming = false;
                rest += 4;
            }
            trim_copy(buf, (size_t)(p - buf), r->to, sizeof r->to);
            trim_copy(rest, strlen(rest), r->from, sizeof r->from);
            r->action = ufw_actions[i].action;
            return r->to[0] != '\0';
        }
    }
    return false;
}

/* "22", "11000:12000", "22,80,11211", each with an optional "/proto". */
static bool is_port_spec(const char *tok)
{
    const char *slash = strchr(tok, '/');
    size_t n = slash ? (size_t)(slash - tok) : strlen(tok);
    if (n == 0 || strspn(tok, "0123456789,:") != n) {
        return false;
    }
    return slash == NULL || strspn(slash + 1, "abcdefghijklmnopqrstuvwxyz") == strlen(slash + 1);
}

static bool port_in_spec(const char *tok, uint16_t port)
{
    const char *slash = strchr(tok, '/');
    if (slash != NULL && strcmp(slash + 1, "tcp") != 0) {
        return false;
    }
    for (const char *p = tok; p != NULL && *p != '\0' && *p != '/';) {
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (*end == ':') {
            hi = strtoul(end + 1, &end, 10);
        }
        if (port >= lo && port <= hi) {
            return true;
        }
        p = *end == ',' ? end + 1 : NULL;
    }
    return false;
}

/* What a rule's To column says about (port, family). *narrow: only some
 * interface or destination address. False: the rule is not about it. */
static bool to_matches(const char *to_in, uint16_t port, bool v6, bool *narrow)
{
    char to[UFW_LINE_MAX], *tok[3];
    int ntok = 0;
    bool rule_v6 = strstr(to_in, "(v6)") != NULL;
    snprintf(to, sizeof to, "%s", to_in);
    char *paren = strchr(to, '(');   /* " (v6)", " (appname)": not needed */
    if (paren != NULL) {
        *paren = '\0';
    }
    char *on = strstr(to, " on ");
    *narrow = on != NULL;
    if (on != NULL) {
        *on = '\0';
    }
    for (char *save = NULL, *t = strtok_r(to, " ", &save); t && ntok < 3;
         t = strtok_r(NULL, " ", &save)) {
        tok[ntok++] = t;
    }
    if (ntok == 0 || ntok > 2) {
        return false;
    }
    if (ntok == 2 || !is_port_spec(tok[0])) {
        /* the first word is an address (or Anywhere) */
        if (strncmp(tok[0], "Anywhere", 8) != 0) {
            *narrow = true;
            rule_v6 = rule_v6 || strchr(tok[0], ':') != NULL;
        } else if (tok[0][8] == '/' && strcmp(tok[0] + 9, "tcp") != 0) {
            return false;           /* "Anywhere/udp" */
        }
    }
    if (rule_v6 != v6) {
        return false;
    }
    if (ntok == 2) {
        return port_in_spec(tok[1], port);
    }
    return !is_port_spec(tok[0]) || port_in_spec(tok[0], port);
}

static bool from_anywhere(const char *from)
{
    return strncmp(from, "Anywhere", 8) == 0;
}

/* "deny", "reject", "allow" from "Default: deny (incoming), allow (outgoing), ...". */
static enum ufw_action default_incoming(const char *line)
{
    const char *in = strstr(line, " (incoming)");
    if (in == NULL) {
        return ACT_NONE;
    }
    const char *w = in;
    while (w > line && w[-1] != ' ') {
        w--;
    }
    if (strncmp(w, "allow", 5) == 0) {
        return ACT_ALLOW;
    }
    return strncmp(w, "deny", 4) == 0 || strncmp(w, "reject", 6) == 0 ? ACT_DENY : ACT_NONE;
}

/* The parts of the text, line by line. */
struct ufw_scan {
    int active;                     /* -1 unknown, 0, 1 */
    enum ufw_action policy;
    bool in_rules;
};

/* Walks one line; true with the verdict when the line decides. */
static bool ufw_line(struct ufw_scan *sc, const char *line, uint16_t port, bool v6,
                     enum audit_ufw_verdict *v, char *why, size_t whylen)
{
    struct ufw_rule r;
    bool narrow;
    if (strncmp(line, "Status: ", 8) == 0) {
        sc->active = strcmp(line + 8, "active") == 0 ? 1 : 0;
    } else if (strncmp(line, "Default: ", 9) == 0) {
        sc->policy = default_incoming(line);
    } else if (strncmp(line, "--", 2) == 0) {
        sc->in_rules = true;
    } else if (sc->active == 1 && sc->in_rules && split_rule(line, &r) && r.incoming &&
               from_anywhere(r.from) && to_matches(r.to, port, v6, &narrow) &&
               (r.action == ACT_ALLOW || !narrow)) {
        *v = r.action == ACT_ALLOW ? AUDIT_UFW_V_OPEN : AUDIT_UFW_V_CLOSED;
        snprintf(why, whylen, "the rule \"%.200s\" %s port %u/tcp from anywhere%s",
                 line, r.action == ACT_ALLOW ? "allows" : "closes", (unsigned)port,
                 narrow && r.action == ACT_ALLOW ? " (on some interface or address)" : "");
        return true;
    }
    return false;
}

enum audit_ufw_verdict audit_ufw_verdict(const char *status, uint16_t port, bool v6,
                                         char *why, size_t whylen)
{
    struct ufw_scan sc = { .active = -1, .policy = ACT_NONE, .in_rules = false };
    enum audit_ufw_verdict v = AUDIT_UFW_V_UNKNOWN;
    char line[UFW_LINE_MAX];
    snprintf(why, whylen, "ufw's status was not understood");
    for (const char *p = status; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        trim_copy(p, n, line, sizeof line);
        p += n + (nl != NULL);
        if (ufw_line(&sc, line, port, v6, &v, why, whylen)) {
            return v;
        }
        if (sc.active == 0) {
            break;
        }
    }
    if (sc.active == 0) {
        snprintf(why, whylen, "ufw is inactive");
        return AUDIT_UFW_V_INACTIVE;
    }
    if (sc.active != 1 || sc.policy == ACT_NONE) {
        return AUDIT_UFW_V_UNKNOWN;
    }
    snprintf(why, whylen, "no rule matches port %u/tcp from anywhere%s and the default "
             "incoming policy is %s", (unsigned)port, v6 ? " (IPv6)" : "",
             sc.policy == ACT_ALLOW ? "allow" : "deny");
    return sc.policy == ACT_ALLOW ? AUDIT_UFW_V_OPEN : AUDIT_UFW_V_CLOSED;
}
