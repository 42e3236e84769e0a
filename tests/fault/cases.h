/* The fault matrix: one line per case, each a ctest test fault.NAME (an
 * XFAIL line is fault.xfail.NAME, run with WILL_FAIL: it asserts the right
 * behaviour, which the library does not have yet; flip it to CASE once it
 * does). tests/CMakeLists.txt reads the names from the lines that start
 * with CASE( or XFAIL(, so keep each name on its macro's first line.
 *
 * Each case is one request to the scripted fault server (see
 * tests/support/README.md), made by the library and then by the CLI:
 *   .raw / RAW("...")  exact bytes, sent by /raw (with .end, .split, .ms)
 *   .path              another scenario of the fault server
 *   .host              a name for the scripted DNS server (http://HOST:PORT/ok)
 *   .prelude           a path requested first on the same client (keep-alive)
 *   .body_lacks, .msg_lacks  text the final body / the error message must not hold
 *   .msg_has           text the error message must hold
 *   .err               the fl_ error the library must return (0: a response)
 *   .cli               the CLI's exit code (curl's code for that failure)
 *   CURL(n)            curl 7.88 exits with n instead (measured with
 *                      FL_FAULT_CURL=1; -1: not comparable, e.g. curl has
 *                      no --dns-servers here). Most differences are curl
 *                      being lenient (it takes a cut head, bad lengths,
 *                      1000 headers); flurry's stricter answer stands.
 * Options apply to both: .follow (max redirects, -L --max-redirs), .decompress
 * (--compressed), .total_ms / .first_byte_ms / .read_ms (the CLI gets -m with
 * the shortest), .connect_ms (--connect-timeout), .retries (--retry; the
 * library's policy also gets .backoff_ms as its base, without jitter),
 * .max_filesize (--max-filesize), .tls (https to the TLS fault server,
 * trusting the test CA), .h2 (the scripted HTTP/2 server h2_server.py by
 * prior knowledge, --http2-prior-knowledge; .path is its scenario).
 * Library only: .pool_ms, .busy (a path requested
 * first on a client of one connection, left running: the case waits for the
 * pool), .attempts (fl_info.attempts), .min_ms (the request takes at least
 * that long). .blackhole: the case's URL is a local listener whose accept
 * queue is full (a connect never completes). .lib_only: no CLI run (it has
 * no equivalent of the option).
 * .ws: a WebSocket instead of a request (see fault_matrix.c's fcase).
 * Then a second request (GET /ok) on the same client must still succeed, and
 * nothing may be left open (fds; memory under ASan). */
/* A table, one case per macro with its name on the first line: */
/* clang-format off */

/* ---- truncation at every phase (FIN) */
CASE(trunc_status_line, RAW("HTTP/1.1 20"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(52))
CASE(trunc_status_no_crlf, RAW("HTTP/1.1 200 OK"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(52))
CASE(trunc_header_name, RAW("HTTP/1.1 200 OK\r\nContent-Len"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(trunc_header_value, RAW("HTTP/1.1 200 OK\r\nContent-Length: 5"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(trunc_head_end, RAW("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(18))
CASE(trunc_cl_body, .path = "/truncated?n=100&send=10", .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_after_head, .path = "/drop-after-head", .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_chunk_size, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1"), .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_chunk_size_crlf, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r"), .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_chunk_data, .path = "/truncated-chunked", .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_chunk_data_crlf, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"), .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_last_chunk, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"), .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_trailer, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: y"), .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(trunc_trailer_end, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: y\r\n"), .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(empty_reply, .path = "/empty", .err = FL_EEMPTY_REPLY, .cli = 52)

/* ---- resets (RST) at each phase */
CASE(reset_before_reply, .path = "/reset", .err = FL_ECONN_RESET, .cli = 56)
CASE(reset_in_status_line, RAW("HTTP/1.1 2"), .end = "reset", .err = FL_ECONN_RESET, .cli = 56)
CASE(reset_in_headers, RAW("HTTP/1.1 200 OK\r\nX-A: b"), .end = "reset", .err = FL_ECONN_RESET, .cli = 56)
CASE(reset_after_head, RAW("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), .end = "reset", .err = FL_ECONN_RESET, .cli = 56)
CASE(reset_mid_body, .path = "/reset-mid-body", .err = FL_ECONN_RESET, .cli = 56)
CASE(reset_mid_chunk, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"), .end = "reset", .err = FL_ECONN_RESET, .cli = 56)
CASE(reset_in_trailer, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: y"), .end = "reset", .err = FL_ECONN_RESET, .cli = 56)

/* ---- garbage and NUL bytes */
CASE(garbage_text, .path = "/garbage", .err = FL_EBAD_STATUS_LINE, .cli = 1)
CASE(garbage_binary, RAW("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"), .err = FL_EBAD_STATUS_LINE, .cli = 1)
CASE(nul_in_status_line, RAW("HTTP/1.1 200\0OK\r\nContent-Length: 2\r\n\r\nok"), .err = FL_EBAD_STATUS_LINE, .cli = 1, CURL(8))
CASE(nul_in_header_name, RAW("HTTP/1.1 200 OK\r\nX-\0A: b\r\nContent-Length: 2\r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8)
CASE(nul_in_header_value, RAW("HTTP/1.1 200 OK\r\nX-A: b\0c\r\nContent-Length: 2\r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8)
CASE(nul_in_body, RAW("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\no\0\0k"), .end = "keep", .err = 0, .cli = 0)
CASE(bare_lf_head, RAW("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(space_before_colon, RAW("HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))

/* ---- oversized and too many headers: the library's defaults (64 KiB, 200
 * headers) against the CLI's, which are curl's (300 KiB in all, 100 KiB a
 * line, no count) */
CASE(headers_over_cap, .path = "/huge-headers?kb=100", .err = FL_EHEADER_TOO_LARGE, .cli = 0)
CASE(header_line_endless, .path = "/flood?pre=HTTP/1.1%20200%20OK%0D%0AX-Long:%20&b=a&max=67108864", .err = FL_EHEADER_TOO_LARGE, .cli = 8, CURL(27))
CASE(header_lines_endless, .path = "/flood?pre=HTTP/1.1%20200%20OK%0D%0A&b=X-A:%20b%0D%0A&max=67108864", .err = FL_ETOO_MANY_HEADERS, .cli = 8, CURL(56))
CASE(headers_too_many, .path = "/many-headers?n=1000", .err = FL_ETOO_MANY_HEADERS, .cli = 0)
CASE(headers_many_ok, .path = "/many-headers?n=150", .err = 0, .cli = 0)

/* ---- obs-fold: RFC 9112 5.2, a user agent replaces it by spaces */
CASE(obs_fold, RAW("HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nok"), .end = "keep", .err = 0, .cli = 0)

/* ---- Content-Length */
CASE(cl_negative, RAW("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8)
CASE(cl_huge, RAW("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(cl_max_u64, RAW("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nok"), .err = FL_EPARTIAL_BODY, .cli = 18, CURL(0))
CASE(cl_non_digit, RAW("HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(cl_empty, RAW("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nok"), .err = FL_EWEIRD_REPLY, .cli = 8)
CASE(cl_conflicting, RAW("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(cl_list_conflicting, RAW("HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
/* RFC 9112 6.3: TE wins over CL, or the message is an error; flurry errs */
CASE(cl_with_te, RAW("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(cl_short_then_more, RAW("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"), .end = "keep", .err = 0, .cli = 0)

/* ---- chunk sizes */
CASE(chunk_size_overflow, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc"), .err = FL_ERECV, .cli = 56)
CASE(chunk_size_17_digits, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nabc"), .err = FL_ERECV, .cli = 56)
CASE(chunk_size_not_hex, .path = "/bad-chunk", .err = FL_ERECV, .cli = 56)
CASE(chunk_data_without_crlf, .path = "/bad-chunk-crlf", .err = FL_ERECV, .cli = 56)
CASE(chunk_size_negative, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n"), .err = FL_ERECV, .cli = 56)
/* RFC 9112 6.3: chunked not last, so the body runs to the close */
CASE(te_not_chunked, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nnot gzip"), .err = 0, .cli = 0, CURL(61))

/* ---- HTTP/0.9 and bad status lines */
CASE(http09, RAW("hello, this is HTTP/0.9\r\n"), .err = FL_EBAD_STATUS_LINE, .cli = 1)
CASE(status_four_digits, RAW("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"), .err = FL_EBAD_STATUS_LINE, .cli = 1)
CASE(status_letters, RAW("HTTP/1.1 2xx OK\r\nContent-Length: 0\r\n\r\n"), .err = FL_EBAD_STATUS_LINE, .cli = 1)
CASE(status_below_100, RAW("HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n"), .err = FL_EBAD_STATUS, .cli = 8, CURL(1))
CASE(status_no_reason, RAW("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok"), .end = "keep", .err = 0, .cli = 0)
CASE(version_2, RAW("HTTP/2 200\r\nContent-Length: 0\r\n\r\n"), .err = FL_EBAD_STATUS_LINE, .cli = 1, CURL(0))
CASE(version_lowercase, RAW("http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), .err = FL_EBAD_STATUS_LINE, .cli = 1, CURL(0))
CASE(unsolicited_101, RAW("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"), .err = FL_EWEIRD_REPLY, .cli = 8, CURL(52))

/* ---- 1xx floods: every 1xx head counts toward one response's header caps */
CASE(interim_flood_endless, .path = "/flood?b=HTTP/1.1%20100%20Continue%0D%0A%0D%0A&max=1073741824", .total_ms = 3000, .err = FL_EHEADER_TOO_LARGE, .cli = 8, CURL(56))
CASE(interim_flood_bounded, .path = "/flood?b=HTTP/1.1%20103%20Early%20Hints%0D%0ALink:%20%3C/x%3E%0D%0A%0D%0A&max=400000&post=HTTP/1.1%20200%20OK%0D%0AContent-Length:%202%0D%0A%0D%0Aok",
      .err = FL_EHEADER_TOO_LARGE, .cli = 8, CURL(56))
CASE(interim_few, .path = "/1xx", .err = 0, .cli = 0)

/* ---- slow and stalled responses against each timeout */
CASE(timeout_first_byte, .path = "/delay?ms=5000", .first_byte_ms = 300, .err = FL_EFIRST_BYTE_TIMEOUT, .cli = 28)
CASE(timeout_read_stalled_body, .path = "/stall-body?n=100&send=10", .read_ms = 300, .err = FL_EREAD_TIMEOUT, .cli = 28)
CASE(timeout_read_slow_body_ok, .path = "/slow-body?n=8&ms=50", .read_ms = 1000, .err = 0, .cli = 0)
CASE(timeout_total_slow_body, .path = "/slow-body?n=200&ms=20", .total_ms = 500, .err = FL_ETIMEOUT, .cli = 28)
CASE(timeout_total_slow_head, .path = "/huge-headers?kb=30&split=64", .total_ms = 400, .err = FL_ETIMEOUT, .cli = 28)
CASE(timeout_read_stalled_head, RAW("HTTP/1.1 200 OK\r\nX-A: b\r\n"), .end = "stall", .read_ms = 300, .err = FL_EREAD_TIMEOUT, .cli = 28)
CASE(timeout_total_stalled_chunks, RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"), .end = "stall", .total_ms = 400, .err = FL_ETIMEOUT, .cli = 28)

/* ---- phase timeouts, re-armed lazily (client/request.c arm_phase): the
 * timer keeps an earlier phase's wake-up and moves only to an earlier one.
 * A phase that must end in time (a loopback connect, a first byte the
 * server sends at once, a busy request of 100 ms) gets at least 500 ms of
 * headroom: 100-200 ms was within a loaded CI machine's scheduling delays
 * (ASan, ctest -j2). The phase after it still outlasts that limit. */
CASE(timeout_connect, .blackhole = 1, .connect_ms = 300, .err = FL_ECONNECT_TIMEOUT, .cli = 28)
CASE(timeout_connect_then_first_byte_ok, .path = "/delay?ms=300", .connect_ms = 5000, .first_byte_ms = 3000, .err = 0, .cli = 0)
CASE(timeout_pool, .busy = "/delay?ms=1500", .path = "/ok", .pool_ms = 200, .err = FL_EPOOL_TIMEOUT, .cli = 0, .lib_only = 1)
CASE(timeout_pool_then_first_byte, .busy = "/delay?ms=300", .path = "/delay?ms=5000", .pool_ms = 3000, .first_byte_ms = 300, .err = FL_EFIRST_BYTE_TIMEOUT, .cli = 28, .lib_only = 1)
/* a long earlier deadline must not delay a shorter later one */
CASE(timeout_first_byte_after_long_connect, .path = "/delay?ms=5000", .connect_ms = 10000, .first_byte_ms = 300, .err = FL_EFIRST_BYTE_TIMEOUT, .cli = 28)
CASE(timeout_read_after_long_first_byte, .path = "/stall-body?n=100&send=10", .connect_ms = 10000, .first_byte_ms = 10000, .read_ms = 300, .err = FL_EREAD_TIMEOUT, .cli = 28)
/* a short earlier deadline is re-armed for the later, longer one */
CASE(timeout_read_after_short_connect, .path = "/stall-body?n=100&send=10", .connect_ms = 500, .read_ms = 1000, .min_ms = 950, .err = FL_EREAD_TIMEOUT, .cli = 28)
CASE(timeout_read_slow_body_after_short_connect, .path = "/slow-body?n=10&ms=100", .connect_ms = 500, .first_byte_ms = 500, .read_ms = 2000, .err = 0, .cli = 28, .lib_only = 1)
/* a phase without a limit after one with a limit: the earlier wake-up finds none */
CASE(timeout_none_after_connect, .path = "/delay?ms=1000", .connect_ms = 500, .err = 0, .cli = 0)
CASE(timeout_none_after_pool, .path = "/delay?ms=1000", .pool_ms = 500, .err = 0, .cli = 0, .lib_only = 1)
CASE(timeout_none_after_first_byte, .path = "/slow-body?n=10&ms=100", .first_byte_ms = 500, .err = 0, .cli = 28, .lib_only = 1)
CASE(timeout_none_after_busy_pool, .busy = "/delay?ms=100", .path = "/delay?ms=1500", .pool_ms = 1000, .err = 0, .cli = 0, .lib_only = 1)

/* ---- retries: the backoff delay is waited, on the phase timer, and the
 * next attempt's phases have their own limits */
CASE(retry_backoff_status, .path = "/flaky?k=fm-status&fail=2&code=503", .retries = 3, .backoff_ms = 150, .attempts = 3, .min_ms = 440, .err = 0, .cli = 0)
CASE(retry_backoff_reset, .path = "/flaky?k=fm-reset&fail=1&code=0", .retries = 2, .backoff_ms = 1500, .first_byte_ms = 500, .read_ms = 500, .attempts = 2, .min_ms = 1490, .err = 0, .cli = 0, .lib_only = 1)
CASE(retry_backoff_then_first_byte_timeout, .path = "/delay?ms=5000", .retries = 1, .backoff_ms = 300, .first_byte_ms = 200, .attempts = 2, .min_ms = 690, .err = FL_EFIRST_BYTE_TIMEOUT, .cli = 28, .lib_only = 1)
CASE(retry_backoff_then_connect_timeout, .blackhole = 1, .retries = 1, .backoff_ms = 300, .connect_ms = 200, .attempts = 2, .min_ms = 690, .err = FL_ECONNECT_TIMEOUT, .cli = 28)

/* ---- kept-alive connections that fail */
CASE(keepalive_closed_between, .prelude = "/stale-next", .path = "/ok", .err = 0, .cli = 0)
CASE(keepalive_reset_between, .prelude = "/reset-next", .path = "/ok", .err = 0, .cli = 0)
CASE(keepalive_closed_after_first_byte, .prelude = "/next?b=H", .path = "/ok", .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(keepalive_reset_after_first_byte, .prelude = "/next?b=H&end=reset", .path = "/ok", .err = FL_ECONN_RESET, .cli = 56, CURL(0))
CASE(keepalive_closed_mid_body, .prelude = "/next?b=HTTP/1.1%20200%20OK%0D%0AContent-Length:%2010%0D%0A%0D%0Aab", .path = "/ok", .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(keepalive_idle_close, .prelude = "/idle-close?ms=20", .path = "/delay?ms=1", .err = 0, .cli = 0)

/* ---- redirects */
CASE(redirect_to_file, RAW("HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n"), .end = "keep", .follow = 5, .err = FL_EUNSUPPORTED_PROTOCOL, .cli = 1)
CASE(redirect_to_ftp, RAW("HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x\r\nContent-Length: 0\r\n\r\n"), .end = "keep", .follow = 5, .err = FL_EUNSUPPORTED_PROTOCOL, .cli = 1, CURL(7))
CASE(redirect_crlf_encoded, RAW("HTTP/1.1 302 Found\r\nLocation: /echo?x=%0D%0AX-Injected:%201\r\nContent-Length: 0\r\n\r\n"), .end = "keep", .follow = 5, .err = 0, .cli = 0, .body_lacks = "\r\nX-Injected")
CASE(redirect_bare_cr, RAW("HTTP/1.1 302 Found\r\nLocation: /echo\rX-Injected: 1\r\nContent-Length: 0\r\n\r\n"), .follow = 5, .err = FL_EWEIRD_REPLY, .cli = 8, CURL(0))
CASE(redirect_loop, .path = "/loop", .follow = 5, .err = FL_ETOO_MANY_REDIRECTS, .cli = 47)
CASE(redirect_no_location, RAW("HTTP/1.1 302 Found\r\nContent-Length: 2\r\n\r\nno"), .end = "keep", .follow = 5, .err = 0, .cli = 0)
CASE(redirect_malformed, RAW("HTTP/1.1 302 Found\r\nLocation: http://[::1/x\r\nContent-Length: 0\r\n\r\n"), .end = "keep", .follow = 5, .err = FL_EURL_MALFORMAT, .cli = 3)
CASE(redirect_big_body, .path = "/redirect-big?n=1048576", .follow = 5, .err = 0, .cli = 0)

/* ---- decompression bombs and bad encodings */
CASE(gzip_bomb_length, .path = "/gzip-bomb?mib=64&length=1", .decompress = 1, .max_filesize = 1 << 20, .err = FL_EFILESIZE_EXCEEDED, .cli = 63, CURL(0))
CASE(gzip_bomb_close, .path = "/gzip-bomb?mib=64&length=0", .decompress = 1, .max_filesize = 1 << 20, .err = FL_EFILESIZE_EXCEEDED, .cli = 63, CURL(0))
CASE(gzip_corrupt, .path = "/corrupt-gzip", .decompress = 1, .err = FL_EBAD_ENCODING, .cli = 61)
CASE(gzip_too_many_layers, .path = "/encodings?n=6", .decompress = 1, .err = FL_EBAD_ENCODING, .cli = 61)
CASE(gzip_truncated, RAW("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), .end = "keep", .decompress = 1, .err = FL_EBAD_ENCODING, .cli = 61, CURL(0))

/* ---- cookie floods */
CASE(cookie_flood_over_cap, .path = "/cookie-flood?n=1000", .err = FL_ETOO_MANY_HEADERS, .cli = 0)
CASE(cookie_flood_kept_small, .path = "/cookie-flood?n=150", .err = 0, .cli = 0)

/* ---- TLS failures mid-body */
CASE(tls_close_notify_mid_body, .path = "/tls-close-notify", .tls = 1, .err = FL_EPARTIAL_BODY, .cli = 18)
CASE(tls_alert_mid_body, .path = "/tls-alert", .tls = 1, .err = FL_ERECV, .cli = 56)
CASE(tls_bad_record_mid_body, .path = "/tls-bad-record", .tls = 1, .err = FL_ERECV, .cli = 56)
CASE(tls_reset_mid_body, .path = "/reset-mid-body", .tls = 1, .err = FL_ECONN_RESET, .cli = 56)

/* ---- DNS */
CASE(dns_nxdomain, .host = "nxdomain.test", .err = FL_ERESOLVE, .cli = 6, CURL(-1))
CASE(dns_servfail, .host = "servfail.test", .err = FL_EDNS_SERVER_FAIL, .cli = 6, CURL(-1))
CASE(dns_refused, .host = "refused.test", .err = FL_EDNS_SERVER_FAIL, .cli = 6, CURL(-1))
CASE(dns_nodata, .host = "nodata.test", .err = FL_ERESOLVE, .cli = 6, CURL(-1))
CASE(dns_truncated_then_tcp, .host = "truncated.test", .err = 0, .cli = 0, CURL(-1))
CASE(dns_truncated_tcp_fails, .host = "truncated-bad.test", .err = FL_EDNS_SERVER_FAIL, .cli = 6, CURL(-1))
CASE(dns_garbled, .host = "garbled.test", .err = FL_EDNS_SERVER_FAIL, .cli = 6, CURL(-1))
CASE(dns_silent, .host = "silent.test", .err = FL_EDNS_TIMEOUT, .cli = 28, CURL(-1))
CASE(dns_wrong_id, .host = "otherid.test", .err = FL_EDNS_TIMEOUT, .cli = 28, CURL(-1))
CASE(host_too_long, .host = "@502", .err = FL_ERESOLVE, .cli = 6, CURL(-1))
CASE(host_too_long_message,
      .host = "@502", .err = FL_ERESOLVE, .cli = 6, CURL(-1), .msg_lacks = "malformed")
CASE(redirect_host_too_long,
      RAW("HTTP/1.1 302 Found\r\nLocation: http://bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.test/x\r\nContent-Length: 0\r\n\r\n"), .end = "keep", .follow = 5, .err = FL_ERESOLVE, .cli = 6)
/* ---- HTTP/2 (h2c by prior knowledge to tests/support/h2_server.py) */
CASE(h2_ok, .h2 = 1, .path = "/ok", .err = 0, .cli = 0)
CASE(h2_rst_stream, .h2 = 1, .path = "/rst?code=2", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_rst_refused, .h2 = 1, .path = "/rst?code=7", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_no_status, .h2 = 1, .path = "/no-status", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_bad_status, .h2 = 1, .path = "/bad-status?v=abc", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_uppercase_name, .h2 = 1, .path = "/uppercase", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_pseudo_unknown, .h2 = 1, .path = "/bad-pseudo?kind=unknown", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_pseudo_request, .h2 = 1, .path = "/bad-pseudo?kind=request", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_pseudo_after_regular, .h2 = 1, .path = "/bad-pseudo?kind=after-regular", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_pseudo_duplicate, .h2 = 1, .path = "/bad-pseudo?kind=duplicate", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_content_length_short, .h2 = 1, .path = "/content-length?cl=10&n=5", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_content_length_long, .h2 = 1, .path = "/content-length?cl=5&n=10", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_data_after_close, .h2 = 1, .path = "/data-after-close", .err = 0, .cli = 0)
CASE(h2_hpack_table_overflow, .h2 = 1, .path = "/hpack-table-overflow", .err = FL_EHTTP2, .cli = 16)
CASE(h2_oversized_frame, .h2 = 1, .path = "/oversized-frame", .err = FL_EHTTP2, .cli = 16)
/* A CONTINUATION flood fails the request with our header cap or nghttp2's
 * block cap, whichever trips first; either way the connection takes no new
 * stream, so the matrix's second request (GET /ok) goes on a new one. */
CASE(h2_continuation_flood, .h2 = 1, .path = "/continuation-flood", .err = FL_EHEADER_TOO_LARGE, .err2 = FL_EHTTP2, .cli = 16, .cli2 = 8)
CASE(h2_big_headers, .h2 = 1, .path = "/big-headers?kb=40&field=4&body=2", .err = 0, .cli = 0)
/* over the library's default max_header_bytes (64 KiB); the CLI's cap is curl's 300 KiB, so library only */
CASE(h2_big_headers_over_cap, .h2 = 1, .path = "/big-headers?kb=110&field=4&body=2", .err = FL_EHEADER_TOO_LARGE, .cli = 8, .lib_only = 1)
CASE(h2_rst_flood, .h2 = 1, .path = "/rst-flood", .err = FL_EHTTP2_STREAM, .cli = 92)
CASE(h2_ping_flood, .h2 = 1, .path = "/ping-flood", .err = FL_EHTTP2, .cli = 16)
CASE(h2_settings_flood, .h2 = 1, .path = "/settings-flood", .err = FL_EHTTP2, .cli = 16)
CASE(h2_goaway_mid_body, .h2 = 1, .path = "/goaway-mid-body?code=2", .err = FL_EHTTP2, .cli = 16, .msg_has = "GOAWAY INTERNAL_ERROR (2)")
/* GOAWAY(NO_ERROR) keeps the stream (last = it), then the server closes
 * mid-body: a FIN (16) or, with our frames unread on its side, a reset
 * (56); either way the message names the GOAWAY */
CASE(h2_goaway_no_error_then_close, .h2 = 1, .path = "/goaway-mid-body?code=0&n=100000", .err = FL_ECONN_RESET, .err2 = FL_EHTTP2, .cli = 56, .cli2 = 16, .msg_has = "after the server's GOAWAY NO_ERROR (0), last stream 1")
CASE(h2_goaway_mid_body_finish, .h2 = 1, .path = "/goaway-mid-body?code=0&finish=1", .err = 0, .cli = 0)
CASE(h2_goaway_unprocessed, .h2 = 1, .path = "/goaway?last=0&code=0", .err = FL_EHTTP2_STREAM, .cli = 92, .msg_lacks = "refused")
CASE(h2_stall_body, .h2 = 1, .path = "/stall-body", .read_ms = 500, .err = FL_EREAD_TIMEOUT, .cli = 28)
/* A server that never sends SETTINGS: the request times out, and the
 * connection takes no further stream (the second request goes on a new one) */
CASE(h2_no_settings, .h2 = 1, .path = "/conn/no-settings", .total_ms = 500, .err = FL_ETIMEOUT, .cli = 28)
CASE(h2_trailers, .h2 = 1, .path = "/trailers", .err = 0, .cli = 0)
CASE(h2_1xx, .h2 = 1, .path = "/1xx", .err = 0, .cli = 0)

/* ---- WebSocket (.ws: fl_ws_connect to the scripted WebSocket server; the
 * CLI runs --ws with its stdin left open). Closed without a close frame, at
 * any point after the 101: FL_EWS_ABNORMAL, 1006. Before or inside the 101:
 * the request's error. A stall ends by the read timeout (the CLI: -m), a
 * server that never answers pings by the heartbeat. In every case a plain
 * request on the same client, sent with the upgrade and still streaming
 * while the WebSocket fails, completes whole (fault_matrix.c, run_ws). */
CASE(ws_drop_after_101, .ws = "/drop", .err = FL_EWS_ABNORMAL, .code = 1006, .cli = 56, CURL(-1))
CASE(ws_mid_frame, .ws = "/midframe", .err = FL_EWS_ABNORMAL, .code = 1006, .cli = 56, CURL(-1))
CASE(ws_garbage_after_101, .ws = "/garbage", .err = FL_EWS_PROTOCOL, .code = 1002, .cli = 56, CURL(-1))
CASE(ws_reset, .ws = "/reset", .err = FL_EWS_ABNORMAL, .code = 1006, .cli = 56, CURL(-1))
CASE(ws_stall, .ws = "/silent", .read_ms = 300, .err = FL_EREAD_TIMEOUT, .code = 1006, .cli = 28, CURL(-1))
CASE(ws_no_pong, .ws = "/silent", .heartbeat_ms = 100, .err = FL_ETIMEOUT, .code = 1006, .lib_only = 1)
CASE(ws_hs_cut, .ws = "/hs/cut", .err = FL_EWEIRD_REPLY, .cli = 8, CURL(-1))
CASE(ws_hs_reset, .ws = "/hs/reset", .err = FL_ECONN_RESET, .cli = 56, CURL(-1))
CASE(ws_hs_garbage, .ws = "/hs/garbage", .err = FL_EBAD_STATUS_LINE, .cli = 1, CURL(-1))
CASE(ws_hs_refused, .ws = "/hs/refuse", .err = FL_EWS_REFUSED, .cli = 22, CURL(-1))
/* clang-format on */
