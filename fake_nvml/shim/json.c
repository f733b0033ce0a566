/* JSON for the node protocol: a reader that tokenises a reply once, and a writer for requests.
 *
 * The reader records each value's span and where its subtree ends, so finding a key or an array
 * item is a walk over siblings; strings are unescaped only when copied out. The writer is a
 * growing buffer that remembers an allocation failure instead of crashing its host.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define MAX_DEPTH 32

struct parser {
    struct jdoc *d;
    const char *s;
    size_t pos, len;
};

static int add(struct parser *p, unsigned char type, int start)
{
    struct jdoc *d = p->d;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 64;
        struct jtok *grown = realloc(d->tok, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        d->tok = grown;
        d->cap = cap;
    }
    d->tok[d->n] = (struct jtok){type, start, start, d->n + 1, 0};
    return d->n++;
}

static void skip_space(struct parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
        p->pos++;
}

static int value(struct parser *p, int depth);

static int string(struct parser *p)
{
    int t = add(p, J_STR, (int)++p->pos);
    if (t < 0)
        return -1;
    while (p->pos < p->len && p->s[p->pos] != '"') {
        if (p->s[p->pos] == '\\')
            p->pos++;
        p->pos++;
    }
    if (p->pos >= p->len)
        return -1;
    p->d->tok[t].end = (int)p->pos++;
    return t;
}

static int container(struct parser *p, int depth, int object)
{
    char close = object ? '}' : ']';
    int t = add(p, object ? J_OBJ : J_ARR, (int)p->pos++);
    if (t < 0)
        return -1;
    skip_space(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            skip_space(p);
            if (object) {
                if (p->pos >= p->len || p->s[p->pos] != '"' || string(p) < 0)
                    return -1;
                skip_space(p);
                if (p->pos >= p->len || p->s[p->pos++] != ':')
                    return -1;
            }
            if (value(p, depth + 1) < 0)
                return -1;
            p->d->tok[t].count++;
            skip_space(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
                break;
            }
            return -1;
        }
    }
    p->d->tok[t].end = (int)p->pos;
    p->d->tok[t].next = p->d->n;
    return t;
}

static int value(struct parser *p, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    skip_space(p);
    if (p->pos >= p->len)
        return -1;
    char c = p->s[p->pos];
    if (c == '{' || c == '[')
        return container(p, depth, c == '{');
    if (c == '"')
        return string(p);
    int t = add(p, J_NUM, (int)p->pos);
    if (t < 0)
        return -1;
    if (c == 't' || c == 'f')
        p->d->tok[t].type = J_BOOL;
    else if (c == 'n')
        p->d->tok[t].type = J_NULL;
    while (p->pos < p->len && !strchr(",]} \t\r\n", p->s[p->pos]))
        p->pos++;
    p->d->tok[t].end = (int)p->pos;
    return p->pos > (size_t)p->d->tok[t].start ? t : -1;
}

int jparse(struct jdoc *d, const char *text, size_t len)
{
    struct parser p = {d, text, 0, len};
    d->text = text;
    d->n = 0;
    if (value(&p, 0) != 0)
        return -1;
    skip_space(&p);
    return p.pos == len ? 0 : -1;
}

void jfree(struct jdoc *d)
{
    free(d->tok);
    d->tok = NULL;
    d->n = d->cap = 0;
}

static int raw_equals(const struct jdoc *d, int tok, const char *key)
{
    size_t n = strlen(key);
    const struct jtok *t = &d->tok[tok];
    return t->type == J_STR && (size_t)(t->end - t->start) == n && !memcmp(d->text + t->start, key, n);
}

int jfind(const struct jdoc *d, int obj, const char *key)
{
    if (obj < 0 || obj >= d->n || d->tok[obj].type != J_OBJ)
        return -1;
    int k = obj + 1;
    for (int i = 0; i < d->tok[obj].count; i++) {
        int v = k + 1;
        if (raw_equals(d, k, key))
            return v;
        k = d->tok[v].next;
    }
    return -1;
}

int jat(const struct jdoc *d, int arr, int index)
{
    if (arr < 0 || arr >= d->n || d->tok[arr].type != J_ARR || index < 0 || index >= d->tok[arr].count)
        return -1;
    int t = arr + 1;
    for (int i = 0; i < index; i++)
        t = d->tok[t].next;
    return t;
}

static int hex(const char *s, unsigned int *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            return -1;
        *out = *out * 16 + (unsigned int)v;
    }
    return 0;
}

static void put(char *buf, size_t cap, size_t *n, char c)
{
    if (*n + 1 < cap)
        buf[*n] = c;
    (*n)++;
}

int jstr(const struct jdoc *d, int tok, char *buf, size_t cap)
{
    if (tok < 0 || tok >= d->n || d->tok[tok].type != J_STR)
        return -1;
    const char *s = d->text + d->tok[tok].start, *end = d->text + d->tok[tok].end;
    size_t n = 0;
    while (s < end) {
        char c = *s++;
        if (c != '\\') {
            put(buf, cap, &n, c);
            continue;
        }
        if (s >= end)
            return -1;
        c = *s++;
        const char *plain = strchr("\"\\/bfnrt", c);
        if (plain) {
            put(buf, cap, &n, "\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"]);
            continue;
        }
        unsigned int u;
        if (c != 'u' || end - s < 4 || hex(s, &u) < 0)
            return -1;
        s += 4;
        if (u < 0x80) {
            put(buf, cap, &n, (char)u);
        } else if (u < 0x800) {
            put(buf, cap, &n, (char)(0xC0 | (u >> 6)));
            put(buf, cap, &n, (char)(0x80 | (u & 0x3F)));
        } else {
            put(buf, cap, &n, (char)(0xE0 | (u >> 12)));
            put(buf, cap, &n, (char)(0x80 | ((u >> 6) & 0x3F)));
            put(buf, cap, &n, (char)(0x80 | (u & 0x3F)));
        }
    }
    if (cap)
        buf[n < cap ? n : cap - 1] = '\0';
    return (int)n;
}

int jnum(const struct jdoc *d, int tok, unsigned long long *out)
{
    if (tok < 0 || tok >= d->n)
        return -1;
    const struct jtok *t = &d->tok[tok];
    if (t->type == J_BOOL) {
        *out = d->text[t->start] == 't';
        return 0;
    }
    if (t->type != J_NUM)
        return -1;
    char text[32];
    size_t n = (size_t)(t->end - t->start);
    if (n >= sizeof text)
        return -1;
    memcpy(text, d->text + t->start, n);
    text[n] = '\0';
    char *rest;
    *out = text[0] == '-' ? (unsigned long long)strtoll(text, &rest, 10) : strtoull(text, &rest, 10);
    return *rest ? -1 : 0;
}

/* ---- writer ---- */
static void reserve(struct sbuf *b, size_t more)
{
    if (b->failed || b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *grown = realloc(b->p, cap);
    if (!grown) {
        b->failed = 1;
        return;
    }
    b->p = grown;
    b->cap = cap;
}

void sb_puts(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    reserve(b, n);
    if (b->failed)
        return;
    memcpy(b->p + b->n, s, n + 1);
    b->n += n;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
    } else if ((size_t)n < sizeof small) {
        sb_puts(b, small);
    } else {
        reserve(b, (size_t)n);
        if (b->failed)
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->n += (size_t)n;
    }
}

void sb_string(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c < 0x20)
            sb_printf(b, "\\u%04x", c);
        else
            sb_printf(b, "%c", c);
    }
    sb_puts(b, "\"");
}

void sb_free(struct sbuf *b)
{
    free(b->p);
    *b = (struct sbuf){0};
}
