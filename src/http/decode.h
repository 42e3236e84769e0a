/* Streaming content decoding (Content-Encoding): gzip, deflate, br, zstd,
 * identity.
 *
 * A decoder is built from the Content-Encoding header value, fed the body as
 * it arrives, and hands decoded output to a sink in pieces of at most
 * FL__DECODE_PIECE bytes. Every coding stage owns one fixed output buffer of
 * that size, so the decoder never holds more than a piece per stage of
 * decoded data, whatever the compression ratio.
 *
 * Rules
 * - The header is a comma-separated list of codings, case-insensitive, with
 *   optional whitespace; empty list elements are skipped. A NULL or empty
 *   header means identity. Codings were applied in the order listed, so they
 *   are undone in reverse order.
 * - Known codings: gzip and x-gzip, deflate, br, zstd, identity. Anything
 *   else (compress, ...) is FL_EBAD_ENCODING at init, as is a list of more
 *   than FL__DECODE_MAX_CODINGS codings, identity included (curl's limit).
 * - deflate means the zlib format (RFC 1950). When its two-byte header is not
 *   a valid zlib header the stream is decoded as raw deflate (RFC 1951), as
 *   browsers and curl do for servers that send raw deflate.
 * - gzip: concatenated members are decoded one after the other. Bytes after
 *   the end of a member that do not start another member (0x1f 0x8b) are
 *   trailing garbage and are ignored, as curl and browsers do; the same
 *   holds for data after the end of a deflate or br stream.
 * - zstd (RFC 8878): frames one after the other (skippable frames included)
 *   are decoded in turn; four bytes after a frame that are not a frame
 *   magic number end the stream, the rest being ignored as for gzip. A frame
 *   asking for a window over 2^FL__DECODE_ZSTD_WINDOW_LOG bytes (8 MiB, the
 *   most RFC 9659 lets a zstd content coding use) is FL_EBAD_ENCODING.
 * - Corrupt data: FL_EBAD_ENCODING (curl 61) with a message.
 * - A stream that stops before its end (truncated body): FL_EBAD_ENCODING
 *   from fl__decoder_finish, message "truncated ... stream". A body that was
 *   completely empty (no byte fed) is accepted as empty output.
 * - max_decoded (0 = none): a piece that would take the total of decoded
 *   bytes beyond it is not delivered and the call fails with
 *   FL_EFILESIZE_EXCEEDED (curl 63). At most max_decoded bytes are ever
 *   delivered; a decompression bomb stops after about one piece of work past
 *   the limit.
 * - After any error the decoder is dead: later feed/finish calls return the
 *   same error without doing anything.
 *
 * Memory: the decoder struct, one FL__DECODE_PIECE buffer per stage, and
 * the codec state (zlib: about 40 KiB per stage; brotli: its window, which
 * the stream chooses, up to 16 MiB; zstd: about 100 KiB plus its window, up
 * to 8 MiB). zlib and brotli allocate through counting allocators; zstd's
 * size is read back after each call (ZSTD_sizeof_DStream, stable API);
 * fl__decoder_mem_peak() reports the peak.
 */
#ifndef FL_DECODE_H
#define FL_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define FL__DECODE_PIECE 16384        /* largest piece handed to a sink */
#define FL__DECODE_MAX_CODINGS 5      /* longest Content-Encoding chain */
#define FL__DECODE_ZSTD_WINDOW_LOG 23 /* largest zstd window: 8 MiB (RFC 9659) */

typedef struct fl__decoder fl__decoder;

/* Receives decoded bytes (borrowed: valid only during the call; p is never
 * NULL, n is never 0, n <= FL__DECODE_PIECE). Return 0 to go on; any other
 * value stops decoding and is returned by fl__decoder_feed/finish as is
 * (use a negative fl_err such as FL_ECALLBACK_ABORT or FL_EWRITE).
 * The sink may call fl__decoder_free on its decoder (e.g. the request that
 * owns it was freed from a user callback): the memory is then released
 * when fl__decoder_feed returns, which returns the sink's value, or
 * FL_ECANCELED if that was 0; nothing else touches the decoder after the
 * sink returned. */
typedef int (*fl__decode_sink)(void *data, const char *p, size_t n);

/* Build a decoder for a Content-Encoding value (NULL or "" = identity).
 * Returns 0, FL_EBAD_ENCODING (unknown coding or too many codings; *out is
 * NULL, and errmsg, if not NULL, gets a message of at most errmsg_cap bytes)
 * or FL_ENOMEM. */
int fl__decoder_init(fl__decoder **out, const char *content_encoding, uint64_t max_decoded,
                     char *errmsg, size_t errmsg_cap);

/* Decode len bytes of body (len 0 is a no-op). Returns 0, FL_EBAD_ENCODING,
 * FL_EFILESIZE_EXCEEDED, FL_ENOMEM, or the sink's nonzero return value. */
int fl__decoder_feed(fl__decoder *d, const char *in, size_t len, fl__decode_sink sink,
                     void *sink_data);

/* End of body: every stage must have reached the end of its stream (or seen
 * no input at all). Returns 0 or an error as fl__decoder_feed. Further feed
 * calls after a successful finish are ignored (treated as trailing data).
 * Every stage drains its output during feed, so finish has nothing left to
 * deliver: it never calls the sink (the parameters are kept so that a
 * future coding with buffered output needs no API change). */
int fl__decoder_finish(fl__decoder *d, fl__decode_sink sink, void *sink_data);

/* NULL is fine. From inside a sink the release is deferred (see above). */
void fl__decoder_free(fl__decoder *d);

/* Why the decoder failed; "" when it did not. */
const char *fl__decoder_errmsg(const fl__decoder *d);
/* 1 when there is nothing to undo (identity only): callers may skip it. */
int fl__decoder_is_identity(const fl__decoder *d);
/* Bytes delivered to sinks so far. */
uint64_t fl__decoder_total_out(const fl__decoder *d);
/* Highest number of bytes the decoder had allocated at once (struct,
 * buffers and codec state). */
size_t fl__decoder_mem_peak(const fl__decoder *d);

#endif
