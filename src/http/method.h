/* What a request method promises (RFC 9110 9.2). */
#ifndef FL_METHOD_H
#define FL_METHOD_H

/* Idempotent: sending it twice has the effect of sending it once, so a
 * request lost with a connection may go again (a stale keep-alive retry,
 * the retry policy's default methods). */
int fl__method_idempotent(const char *method);
/* GET or HEAD: bodiless and safe, so it may be pipelined behind others. */
int fl__method_pipelinable(const char *method);

#endif
