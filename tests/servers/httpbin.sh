# httpbin fixture (sourced by start): python3-httpbin under gunicorn on
# 127.0.0.1:PORT. One worker process with 256 threads (gthread), so 200
# concurrent /delay/1 requests are served in parallel. Idle keep-alive
# connections are closed by the server after 30 s.
# Files: httpbin.pid, httpbin.log (gunicorn's error log).

FL_PORT_FLAGS=""

fl_server_launch() {
  "$FL_PYTHON" -c 'import httpbin, gunicorn' 2>/dev/null ||
    fl_die "httpbin: $FL_PYTHON cannot import httpbin and gunicorn (run scripts/bootstrap)"
  fl_launch httpbin "$rundir" "$FL_PYTHON" -m gunicorn \
    --bind "127.0.0.1:$1" --workers 1 --worker-class gthread --threads 256 \
    --keep-alive 30 --graceful-timeout 2 --timeout 120 --backlog 1024 \
    --chdir "$rundir" --worker-tmp-dir "$rundir" --error-logfile - \
    httpbin:app
}

fl_server_probe() {
  fl_probe http "$1" /get
}
