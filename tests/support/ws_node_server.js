// WebSocket test server on node-ws (Debian's /usr/share/nodejs/ws), started
// through ws_server.py --node: node ws_node_server.js PORTFILE [TLSDIR].
// The same paths as ws_server.py: /echo, /frag, /close?code=C&reason=R,
// /big?n=N, /headers, /ext. permessage-deflate is on for every message
// (threshold 0) when the client offers it; /frag sends each message back in
// five fragments (ws.send with fin: false).
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const WebSocket = require('/usr/share/nodejs/ws');

const [portFile, tlsDir] = process.argv.slice(2);
const server = tlsDir
  ? https.createServer({
      cert: fs.readFileSync(tlsDir + '/good.pem'),
      key: fs.readFileSync(tlsDir + '/good.key'),
    })
  : http.createServer();
const wss = new WebSocket.Server({
  server,
  perMessageDeflate: { threshold: 0 },
  maxPayload: 0,
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
});

wss.on('connection', (ws, req) => {
  const u = new URL(req.url, 'http://x');
  ws.on('error', () => {});
  if (u.pathname === '/close') {
    ws.close(Number(u.searchParams.get('code') || 1000), u.searchParams.get('reason') || '');
    return;
  }
  if (u.pathname === '/big') {
    const n = Number(u.searchParams.get('n') || 0);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = 97 + (i % 26);
    ws.send(b);
  } else if (u.pathname === '/headers') {
    const h = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) h[req.rawHeaders[i]] = req.rawHeaders[i + 1];
    ws.send(JSON.stringify(h));
  } else if (u.pathname === '/ext') {
    ws.send(ws.extensions || '');
  }
  ws.on('message', (data, isBinary) => {
    if (u.pathname === '/frag') {
      const text = data.toString('utf8');
      const k = Math.max(1, Math.floor(text.length / 5) + 1);
      const parts = [];
      for (let i = 0; i < text.length; i += k) parts.push(text.slice(i, i + k));
      if (!parts.length) parts.push('');
      parts.forEach((p, i) => ws.send(p, { fin: i === parts.length - 1, binary: false }));
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', server.address().port + '\n');
  fs.renameSync(portFile + '.tmp', portFile);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
