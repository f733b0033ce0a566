/* The connection to the node: length-prefixed JSON frames over a unix socket.
 *
 * A connection carries one request at a time and an event wait blocks its connection, so calls
 * borrow a connection from a pool and open a new one when every pooled one is busy (a Go
 * program calls from many threads at once). Every read has a deadline and a closed or broken
 * connection ends the call at once; writes never raise SIGPIPE. A forked child drops the
 * parent's connections instead of sharing them.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define CALL_DEADLINE_MS 30000u /* beyond the call's own wait: a node that stops answering */
#define MAX_FRAME (16u * 1024u * 1024u)

struct conn {
    int fd;
    char path[108]; /* the node it reaches: a changed SHIM_SOCKET_ENV means another node */
    struct conn *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *idle;
static pid_t owner;
static char session[48];
static unsigned long long next_id = 1;

void shim_note_once(const char *fmt, ...)
{
    static int said;
    if (__atomic_exchange_n(&said, 1, __ATOMIC_SEQ_CST))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "libnvidia-ml.so.1 (fake_nvml shim): %s\n", line);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return (p.revents & (events | POLLHUP | POLLERR)) ? 0 : -1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int send_all(int fd, const char *p, size_t n, long long deadline)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) < 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static int recv_all(int fd, char *p, size_t n, long long deadline)
{
    while (n) {
        ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLIN, deadline) < 0)
                return -1;
        } else {
            return -1; /* 0: the node closed the connection */
        }
    }
    return 0;
}

static int send_frame(int fd, const char *body, long long deadline)
{
    size_t n = strlen(body);
    unsigned char head[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                             (unsigned char)n};
    return send_all(fd, (const char *)head, 4, deadline) || send_all(fd, body, n, deadline) ? -1 : 0;
}

static char *recv_frame(int fd, long long deadline, size_t *len)
{
    unsigned char head[4];
    if (recv_all(fd, (char *)head, 4, deadline) < 0)
        return NULL;
    size_t n = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    char *body = n <= MAX_FRAME ? malloc(n + 1) : NULL;
    if (!body || recv_all(fd, body, n, deadline) < 0) {
        free(body);
        return NULL;
    }
    body[n] = '\0';
    *len = n;
    return body;
}

static void make_session(void)
{
    unsigned long long noise = (unsigned long long)now_ms() ^ ((unsigned long long)(uintptr_t)&noise << 16);
    FILE *f = fopen("/dev/urandom", "re");
    if (f) {
        if (fread(&noise, sizeof noise, 1, f) != 1)
            noise ^= (unsigned long long)getpid();
        fclose(f);
    }
    snprintf(session, sizeof session, "shim-%d-%016llx", (int)getpid(), noise);
}

/* A connection to the node at path that said hello, or NULL (the reason noted once). */
static struct conn *dial(const char *path)
{
    if (!path || !*path) {
        shim_note_once("%s is not set, so no simulated node serves NVML here; start one with "
                       "'python -m fake_nvml serve SPEC --socket PATH' and export what it prints",
                       SHIM_SOCKET_ENV);
        return NULL;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        shim_note_once("%s=%s is longer than a unix socket path may be (%zu bytes)", SHIM_SOCKET_ENV, path,
                       sizeof addr.sun_path - 1);
        return NULL;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    long long deadline = now_ms() + CALL_DEADLINE_MS;
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc < 0 && (errno == EINTR || errno == EAGAIN)) {
        int err = 0;
        socklen_t len = sizeof err;
        rc = wait_fd(fd, POLLOUT, deadline) < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err ? -1 : 0;
    }
    if (rc < 0) {
        shim_note_once("no simulated node answers at %s=%s (%s)", SHIM_SOCKET_ENV, path, strerror(errno));
        close(fd);
        return NULL;
    }
    char hello[128];
    snprintf(hello, sizeof hello, "{\"op\":\"hello\",\"id\":0,\"protocol\":%d,\"session\":\"%s\"}", SHIM_PROTOCOL,
             session);
    size_t len;
    char *answer = send_frame(fd, hello, deadline) ? NULL : recv_frame(fd, deadline, &len);
    int ok = answer && strstr(answer, "\"ok\"") != NULL;
    if (answer && !ok)
        shim_note_once("the node at %s refused this shim: %s", path, answer);
    free(answer);
    if (!ok) {
        close(fd);
        return NULL;
    }
    struct conn *c = malloc(sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    strcpy(c->path, path);
    c->next = NULL;
    return c;
}

static void drop_all_locked(void)
{
    while (idle) {
        struct conn *c = idle;
        idle = c->next;
        close(c->fd);
        free(c);
    }
}

/* An idle connection is usable when it still leads to the wanted node and nothing is waiting on it
 * (the node never speaks unasked, so readable means closed). */
static int usable(const struct conn *c, const char *path)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    return path && !strcmp(c->path, path) && poll(&p, 1, 0) == 0;
}

static struct conn *borrow(unsigned long long *id)
{
    const char *path = getenv(SHIM_SOCKET_ENV);
    pthread_mutex_lock(&lock);
    if (owner != getpid()) { /* first use, or a forked child: the parent's connections are not ours */
        drop_all_locked(); /* (closing our copies leaves the parent's open) */
        owner = getpid();
        make_session();
    }
    *id = next_id++;
    struct conn *c;
    while ((c = idle) != NULL) {
        idle = c->next;
        if (usable(c, path))
            break;
        close(c->fd); /* the node went away, or the process now names another node */
        free(c);
    }
    pthread_mutex_unlock(&lock);
    return c ? c : dial(path);
}

static void give_back(struct conn *c)
{
    pthread_mutex_lock(&lock);
    if (owner == getpid()) {
        c->next = idle;
        idle = c;
        c = NULL;
    }
    pthread_mutex_unlock(&lock);
    if (c) {
        close(c->fd);
        free(c);
    }
}

static void discard(struct conn *c)
{
    close(c->fd);
    free(c);
}

void reply_free(struct reply *r)
{
    jfree(&r->doc);
    free(r->text);
    r->text = NULL;
}

/* Microseconds this process has spent in finished round trips that were not event waits; each
   request carries the total so far, so the harness can tell the simulation's time from the plugin's
   (the kubelet's response budget leaves it out). */
static unsigned long long spent_us;

static unsigned long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

int shim_roundtrip(const char *fn, const char *args, unsigned int wait_ms, struct reply *r)
{
    *r = (struct reply){.ok = -1};
    unsigned long long id;
    struct conn *c = borrow(&id);
    if (!c)
        return SHIM_NO_NODE;
    unsigned long long began = now_us();
    struct sbuf req = {0};
    sb_printf(&req, "{\"op\":\"call\",\"id\":%llu,\"spent_us\":%llu,\"fn\":", id,
              __atomic_load_n(&spent_us, __ATOMIC_RELAXED));
    sb_string(&req, fn);
    sb_printf(&req, ",\"args\":[%s]}", args);
    if (req.failed) {
        sb_free(&req);
        give_back(c);
        return NVML_ERROR_MEMORY;
    }
    long long deadline = now_ms() + CALL_DEADLINE_MS + wait_ms;
    size_t len = 0;
    int sent = send_frame(c->fd, req.p, deadline) == 0;
    sb_free(&req);
    r->text = sent ? recv_frame(c->fd, deadline, &len) : NULL;
    if (!r->text) { /* the node went away (or stopped answering) during the call */
        discard(c);
        return NVML_ERROR_UNKNOWN;
    }
    give_back(c);
    if (!wait_ms)
        __atomic_add_fetch(&spent_us, now_us() - began, __ATOMIC_RELAXED);
    int top = jparse(&r->doc, r->text, len) == 0 ? 0 : -1;
    int err = jfind(&r->doc, top, "error");
    if (err >= 0) {
        unsigned long long code = NVML_ERROR_UNKNOWN;
        jnum(&r->doc, jfind(&r->doc, err, "code"), &code);
        return (nvmlReturn_t)code;
    }
    r->ok = jfind(&r->doc, top, "ok");
    return r->ok >= 0 ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}
