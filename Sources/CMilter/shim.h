/* stdbool first: otherwise mfapi.h typedefs its own bool and smfi_opensocket takes an int. */
#include <stdbool.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmilter/mfapi.h>
