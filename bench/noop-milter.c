/* The benchmark's reference: a libmilter milter that does nothing but add one header, with the two
 * fixes every milter here needs (TCP_NODELAY on the listener, a DATA callback). It marks the cost of
 * any libmilter milter on this machine, so mailwardend's row can be read against it.
 * Build: cc -O2 -o noop-milter noop-milter.c -lmilter    Run: noop-milter inet:PORT@127.0.0.1 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libmilter/mfapi.h>

static sfsistat cont(SMFICTX *ctx) { (void)ctx; return SMFIS_CONTINUE; }
static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa) { (void)host; (void)sa; return cont(ctx); }
static sfsistat on_envelope(SMFICTX *ctx, char **argv) { (void)argv; return cont(ctx); }
static sfsistat on_header(SMFICTX *ctx, char *name, char *value) { (void)name; (void)value; return cont(ctx); }
static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { (void)chunk; (void)len; return cont(ctx); }
static sfsistat on_eom(SMFICTX *ctx) {
    smfi_addheader(ctx, "X-Noop-Milter", "yes");
    return SMFIS_ACCEPT;
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

int main(int argc, char **argv) {
    struct smfiDesc desc = {
        .xxfi_name = "noop-milter", .xxfi_version = SMFI_VERSION, .xxfi_flags = SMFIF_ADDHDRS,
        .xxfi_connect = on_connect, .xxfi_envfrom = on_envelope, .xxfi_envrcpt = on_envelope,
        .xxfi_header = on_header, .xxfi_eoh = cont, .xxfi_body = on_body, .xxfi_eom = on_eom,
        .xxfi_abort = cont, .xxfi_close = cont, .xxfi_data = cont,
    };
    if (argc != 2) { fprintf(stderr, "usage: noop-milter inet:PORT@HOST\n"); return 64; }
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "noop-milter: cannot listen on %s\n", argv[1]);
        return 71;
    }
    nodelay_on_listeners();
    return smfi_main();
}
