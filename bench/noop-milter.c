/* The benchmark's reference: a libmilter milter that does nothing but add one header, with the two
 * fixes every milter here needs (TCP_NODELAY on the listener, a DATA callback). It marks the cost of
 * any libmilter milter on this machine, so mailwardend's row can be read against it.
 * With NOOP_HISTOGRAM=FILE it also times its own callbacks as mailwardend does (the sum of one
 * message's callbacks, MAIL FROM to end of message) and writes them at exit to FILE, in buckets
 * named and bounded as mailwardend's mailwarden_milter_message_seconds: the same clock, the same
 * machine load, so the two p99s can be set side by side.
 * Build: cc -O2 -o noop-milter noop-milter.c -lmilter    Run: noop-milter inet:PORT@127.0.0.1 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libmilter/mfapi.h>

/* mailwardend's bucket bounds (Sources/mailwardend/MetricsEndpoint.swift), in seconds. */
static const double bounds[] = { 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
                                 250e-3, 500e-3, 1, 2, 5, 10, 30 };
#define NBOUNDS (sizeof bounds / sizeof bounds[0])
static unsigned long counts[NBOUNDS + 1];
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static bool timing;

/* One connection's message in progress: nanoseconds spent in its callbacks so far. */
struct message { long long spent; };

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void add(SMFICTX *ctx, long long since) {
    struct message *m = smfi_getpriv(ctx);
    if (m) m->spent += now_ns() - since;
}
static void record(SMFICTX *ctx) {
    struct message *m = smfi_getpriv(ctx);
    if (!m) return;
    double s = m->spent / 1e9;
    size_t i = 0;
    while (i < NBOUNDS && s > bounds[i]) i++;
    pthread_mutex_lock(&counts_lock);
    counts[i]++;
    pthread_mutex_unlock(&counts_lock);
}

static sfsistat cont(SMFICTX *ctx) { long long t = now_ns(); add(ctx, t); return SMFIS_CONTINUE; }
static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa) {
    (void)host; (void)sa;
    if (timing && !smfi_getpriv(ctx)) smfi_setpriv(ctx, calloc(1, sizeof(struct message)));
    return SMFIS_CONTINUE;
}
static sfsistat on_mail(SMFICTX *ctx, char **argv) {
    long long t = now_ns();
    (void)argv;
    struct message *m = smfi_getpriv(ctx);
    if (m) m->spent = 0;
    add(ctx, t);
    return SMFIS_CONTINUE;
}
static sfsistat on_rcpt(SMFICTX *ctx, char **argv) { (void)argv; return cont(ctx); }
static sfsistat on_header(SMFICTX *ctx, char *name, char *value) { (void)name; (void)value; return cont(ctx); }
static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { (void)chunk; (void)len; return cont(ctx); }
static sfsistat on_eom(SMFICTX *ctx) {
    long long t = now_ns();
    smfi_addheader(ctx, "X-Noop-Milter", "yes");
    add(ctx, t);
    record(ctx);
    return SMFIS_ACCEPT;
}
static sfsistat on_close(SMFICTX *ctx) {
    free(smfi_getpriv(ctx));
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

/* Accepted sockets inherit TCP_NODELAY from the listener; without it the EOM replies stall 40 ms. */
static void nodelay_on_listeners(void) {
    for (int fd = 0; fd < 1024; fd++) {
        int listening = 0, one = 1;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

static void write_histogram(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return; }
    unsigned long below = 0;
    for (size_t i = 0; i <= NBOUNDS; i++) {
        below += counts[i];
        if (i < NBOUNDS) fprintf(f, "noop_milter_message_seconds_bucket{le=\"%g\"} %lu\n", bounds[i], below);
        else fprintf(f, "noop_milter_message_seconds_bucket{le=\"+Inf\"} %lu\n", below);
    }
    fclose(f);
}

int main(int argc, char **argv) {
    struct smfiDesc desc = {
        .xxfi_name = "noop-milter", .xxfi_version = SMFI_VERSION, .xxfi_flags = SMFIF_ADDHDRS,
        .xxfi_connect = on_connect, .xxfi_envfrom = on_mail, .xxfi_envrcpt = on_rcpt,
        .xxfi_header = on_header, .xxfi_eoh = cont, .xxfi_body = on_body, .xxfi_eom = on_eom,
        .xxfi_abort = cont, .xxfi_close = on_close, .xxfi_data = cont,
    };
    if (argc != 2) { fprintf(stderr, "usage: noop-milter inet:PORT@HOST\n"); return 64; }
    const char *histogram = getenv("NOOP_HISTOGRAM");
    timing = histogram && *histogram;
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "noop-milter: cannot listen on %s\n", argv[1]);
        return 71;
    }
    nodelay_on_listeners();
    int status = smfi_main();
    if (timing) write_histogram(histogram);
    return status;
}
