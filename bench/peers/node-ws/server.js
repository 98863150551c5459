// Fan-out peer: POST /publish with NDJSON; every line is broadcast as one text message to every WebSocket client.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 8120);
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/publish') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        for (const client of wss.clients) if (client.readyState === 1) client.send(line);
      }
      res.writeHead(200).end();
    });
  } else {
    res.writeHead(404).end();
  }
});
const wss = new WebSocketServer({ server, path: '/ws' });
server.listen(port, '127.0.0.1', () => console.log(`node ws peer on 127.0.0.1:${port}`));
