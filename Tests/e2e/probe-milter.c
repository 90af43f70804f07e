/*
 * probe-milter: a test-only libmilter filter that writes what the MTA shows a
 * milter, one line per event, and accepts everything. The e2e harness uses it
 * to check Postfix facts MailWarden depends on ({daemon_name} for local
 * submissions, the emulated connect event of non-SMTP mail, whether Postfix's
 * own Received: header reaches the milter, the {auth_authen} form).
 *
 * Build: cc -O2 -Wall -o probe-milter probe-milter.c -lmilter
 * Run:   probe-milter inet:PORT@127.0.0.1 LOGFILE
 * Output lines: "<conn#> <event> key=value ..." (values are printed as sent).
 * With PROBE_ADD_HEADER="Name: value" in its environment it adds that header at
 * end of message, as an authenticating milter (OpenDKIM, OpenDMARC) adds its
 * Authentication-Results field; the harness checks whether a later milter sees it.
 * It exits after SIGTERM/SIGINT (libmilter's own signal handling).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <libmilter/mfapi.h>

static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;
static long seq;

static void emit(SMFICTX *ctx, const char *fmt, ...)
{
    long id = (long) (intptr_t) smfi_getpriv(ctx);
    va_list ap;

    pthread_mutex_lock(&out_lock);
    fprintf(out, "%ld ", id);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&out_lock);
}

/* Print the macros that are defined at this stage, as " name=value". */
static void macros(SMFICTX *ctx, const char *stage)
{
    static const char *names[] = {
        "j", "_", "v", "i", "{daemon_name}", "{daemon_addr}", "{client_addr}",
        "{client_name}", "{client_ptr}", "{client_port}", "{auth_authen}",
        "{auth_type}", "{auth_author}", "{mail_addr}", "{mail_mailer}",
        "{rcpt_addr}", "{rcpt_mailer}", NULL,
    };
    char line[4096];
    size_t n = 0;

    line[0] = 0;
    for (const char **p = names; *p; p++) {
        char *v = smfi_getsymval(ctx, (char *) *p);
        if (v && n < sizeof(line) - 1)
            n += snprintf(line + n, sizeof(line) - n, " %s=[%s]", *p, v);
    }
    emit(ctx, "macros@%s%s", stage, line);
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    char addr[INET6_ADDRSTRLEN] = "-";
    long id;

    pthread_mutex_lock(&seq_lock);
    id = ++seq;
    pthread_mutex_unlock(&seq_lock);
    smfi_setpriv(ctx, (void *) (intptr_t) id);
    if (sa == NULL)
        strcpy(addr, "(null)");
    else if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *) sa)->sin_addr, addr, sizeof(addr));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) sa)->sin6_addr, addr, sizeof(addr));
    else
        snprintf(addr, sizeof(addr), "family=%d", sa->sa_family);
    emit(ctx, "connect host=[%s] addr=[%s]", host ? host : "(null)", addr);
    macros(ctx, "connect");
    return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
    emit(ctx, "helo [%s]", helo ? helo : "(null)");
    return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    emit(ctx, "mailfrom [%s]", argv && argv[0] ? argv[0] : "(null)");
    macros(ctx, "mail");
    return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    emit(ctx, "rcpt [%s]", argv && argv[0] ? argv[0] : "(null)");
    return SMFIS_CONTINUE;
}

static sfsistat on_data(SMFICTX *ctx)
{
    emit(ctx, "data");
    return SMFIS_CONTINUE;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    char flat[2048];
    size_t i, n = 0;

    /* One line per header: show folding as \n\t so the log stays line-based. */
    for (i = 0; value && value[i] && n < sizeof(flat) - 3; i++) {
        if (value[i] == '\r')
            continue;
        if (value[i] == '\n') { flat[n++] = '\\'; flat[n++] = 'n'; continue; }
        flat[n++] = value[i];
    }
    flat[n] = 0;
    emit(ctx, "header %s: %s", name ? name : "(null)", flat);
    return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
    emit(ctx, "eoh");
    return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    const char *add = getenv("PROBE_ADD_HEADER");
    const char *colon = add ? strchr(add, ':') : NULL;

    emit(ctx, "eom");
    macros(ctx, "eom");
    if (colon) {
        char name[128];
        size_t n = (size_t) (colon - add) < sizeof name - 1 ? (size_t) (colon - add) : sizeof name - 1;

        memcpy(name, add, n);
        name[n] = '\0';
        smfi_addheader(ctx, name, (char *) (colon[1] == ' ' ? colon + 2 : colon + 1));
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_abort(SMFICTX *ctx)
{
    emit(ctx, "abort");
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    emit(ctx, "close");
    return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
    struct smfiDesc desc = {
        .xxfi_name = "probe-milter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS,
        .xxfi_connect = on_connect,
        .xxfi_helo = on_helo,
        .xxfi_envfrom = on_envfrom,
        .xxfi_envrcpt = on_envrcpt,
        .xxfi_header = on_header,
        .xxfi_eoh = on_eoh,
        .xxfi_eom = on_eom,
        .xxfi_abort = on_abort,
        .xxfi_close = on_close,
        .xxfi_data = on_data,
    };

    if (argc != 3) {
        fprintf(stderr, "usage: %s inet:PORT@127.0.0.1 LOGFILE\n", argv[0]);
        return 64;
    }
    if ((out = fopen(argv[2], "a")) == NULL) {
        perror(argv[2]);
        return 73;
    }
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS
        || smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "%s: cannot listen on %s\n", argv[0], argv[1]);
        return 69;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
