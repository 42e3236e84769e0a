// node-ws echo server for bench/harness/ws.sh: every message back, same
// type. node ws_echo_server.js PORTFILE [deflate] [TLSDIR]
// PORTFILE gets the port (PORTFILE.tmp + rename) once it listens on
// 127.0.0.1:0. "deflate": accept permessage-deflate (ws's defaults; else
// off, so no client gets it). TLSDIR: wss:// with TLSDIR/good.pem and
// good.key. Serves until SIGTERM.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const WebSocket = require('/usr/share/nodejs/ws');

const [portFile, deflate, tlsDir] = process.argv.slice(2);
const server = tlsDir
  ? https.createServer({
      cert: fs.readFileSync(tlsDir + '/good.pem'),
      key: fs.readFileSync(tlsDir + '/good.key'),
    })
  : http.createServer();
const wss = new WebSocket.Server({
  server,
  perMessageDeflate: deflate === 'deflate' ? { threshold: 0 } : false,
  maxPayload: 64 << 20,
  backlog: 4096,
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  fs.writeFileSync(portFile + '.tmp', server.address().port + '\n');
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => process.exit(0));
