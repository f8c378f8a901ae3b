/*
 * Plain sockets for roam spy (which forwards bytes and so works below the
 * runtime's links): the runtime's address syntax (tcp://host:port,
 * host:port, [v6]:port, unix:/path, unix:@abstract), listening and
 * connecting.
 */
#ifndef ROAM_CLI_NET_H
#define ROAM_CLI_NET_H

#include <stddef.h>

/* Listen on addr (port 0 = any free port). Returns the fd (non-blocking) or
 * -1 with a message in err; *bound gets the address in the same syntax. */
int net_listen(const char *addr, char *bound, size_t boundcap, char *err, size_t errcap);
/* Connect to addr (blocking, at most timeout_ms). Returns the fd (left
 * blocking) or -1 with a message in err. */
int net_connect(const char *addr, int timeout_ms, char *err, size_t errcap);

#endif
