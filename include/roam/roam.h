/*
 * roam-c umbrella header. Layers, each usable alone:
 *   common.h   error codes, allocation hooks, logging
 *   postcard.h value codec          message.h  the twelve messages
 *   cobs.h     byte-stream framing  session.h  sans-I/O session
 */
#ifndef ROAM_ROAM_H
#define ROAM_ROAM_H
#include "common.h"
#include "postcard.h"
#include "message.h"
#include "cobs.h"
#endif
