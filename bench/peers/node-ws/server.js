// Fan-out peer: POST /publish with NDJSON; every line is sent as one text message to every WebSocket client of its
// site (clients connect to /ws?site=…), the most common ws broadcast with rooms.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 8120);
const sites = new Map(); // site → Set of sockets

const siteOf = (line) => {
  const start = line.indexOf('"site":"') + 8;
  return line.slice(start, line.indexOf('"', start));
};

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        const clients = sites.get(siteOf(line));
        if (!clients) continue;
        for (const client of clients) if (client.readyState === 1) client.send(line);
      }
      res.writeHead(200).end();
    });
  } else {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket, req) => {
  const site = new URL(req.url, 'http://localhost').searchParams.get('site') ?? '';
  if (!sites.has(site)) sites.set(site, new Set());
  sites.get(site).add(socket);
  socket.on('close', () => sites.get(site)?.delete(socket));
});
server.listen(port, '127.0.0.1', () => console.log(`node ws peer on 127.0.0.1:${port}`));
