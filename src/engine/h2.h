/* The HTTP/2 carrier (engine/h2.c the session and its I/O, h2_recv.c
 * nghttp2's receive callbacks, h2_stream.c the streams' outcomes,
 * h2_send.c the carrier ops): one nghttp2 client session per
 * connection, driven from our loop (bytes read into the client's shared
 * buffer go to nghttp2_session_mem_recv; what nghttp2_session_mem_send
 * produces is gathered and written in one write), each carried exchange a
 * stream.
 *
 * - Capacity: the peer's SETTINGS_MAX_CONCURRENT_STREAMS, capped by
 *   env->h2_max_streams; none after a GOAWAY either way.
 * - Flow control is ours (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE): the
 *   connection window is given back as DATA arrives, a stream's when its
 *   owner took the bytes. A paused stream's DATA waits in its own buffer
 *   (at most its window), so the others go on.
 * - Cancel (fl__conn_drop) is RST_STREAM(CANCEL); the connection lives on.
 * - A stream the server refused (REFUSED_STREAM, or above a GOAWAY's last
 *   stream id) fails as orphaned: the owner sends it again elsewhere.
 *
 * Lifetimes: the session and the per-stream state are the connection's,
 * allocated at open, freed by dispose (from the pool's graveyard, so never
 * inside an nghttp2 callback). The connection's own h2 state sits inside
 * struct fl__conn (engine/h2_state.h), where HTTP/1.1 keeps its parser. */
#ifndef FL_H2_H
#define FL_H2_H

#include "engine/conn.h"

#endif
