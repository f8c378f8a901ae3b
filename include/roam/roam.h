/*
 * roam-c umbrella header. Layers, each usable alone:
 *   common.h     error codes, allocation hooks, logging
 *   postcard.h   value codec            message.h  the twelve messages
 *   cobs.h       byte-stream framing    session.h  sans-I/O session
 *   diag.h       diagnostics (in-flight calls, SIGUSR1 dumps)
 *   runtime.h    event loop, sockets, server and client (POSIX)
 *   blake3.h, method_id.h   method identity
 *   gen.h        support of roam-gen generated code (arena, stubs)
 */
#ifndef ROAM_ROAM_H
#define ROAM_ROAM_H
#include "common.h"
#include "postcard.h"
#include "message.h"
#include "cobs.h"
#include "session.h"
#include "diag.h"
#include "runtime.h"
#include "blake3.h"
#include "method_id.h"
#include "gen.h"
#endif
