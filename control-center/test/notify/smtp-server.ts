import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A real SMTP server nobody here wrote: Debian's python3-aiosmtpd with its Mailbox handler, which
 * stores every received message in a Maildir. Messages are read back with Python's own e-mail parser,
 * so the test checks what a mail client would see (decoded subject and body), not our encoding.
 * /usr/bin/python3 explicitly: another python3 on PATH may lack the Debian package.
 */
const PYTHON = '/usr/bin/python3';

export interface ReceivedMail {
  subject: string;
  from: string;
  to: string;
  messageId: string;
  delivery: string;
  /** The List-Unsubscribe and List-Unsubscribe-Post headers (RFC 8058), or "None". */
  listUnsubscribe: string;
  listUnsubscribePost: string;
  body: string;
}

export interface SmtpServer {
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  messages(): ReceivedMail[];
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function accepting(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`aiosmtpd exited: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('data', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`aiosmtpd did not listen on ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const READ_MAILDIR = `
import json, mailbox, sys
from email import policy
from email.parser import BytesParser
out = []
box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
# Arrival order: a Maildir key starts with the delivery's seconds and microseconds ("1784106000.M123P...").
def arrival(key):
    sec, rest = key.split(".", 1)
    return (int(sec), int(rest[1:].split("P", 1)[0]) if rest.startswith("M") else 0, key)
for key in sorted(box.keys(), key=arrival):
    with box.get_file(key) as f:
        m = BytesParser(policy=policy.default).parse(f)
    out.append({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
                "messageId": str(m["message-id"]), "delivery": str(m["x-slopeguard-delivery"]),
                "listUnsubscribe": str(m["list-unsubscribe"]), "listUnsubscribePost": str(m["list-unsubscribe-post"]),
                "body": m.get_body(preferencelist=("plain",)).get_content()})
print(json.dumps(out))
`;

/** Starts aiosmtpd on a free loopback port, storing into `dir`/maildir; `maxSize` is its SIZE limit. */
export async function startSmtpServer(dir: string, maxSize = 100_000): Promise<SmtpServer> {
  const maildir = join(dir, 'maildir');
  // Not created here: Maildir() makes cur/new/tmp only when it creates the folder itself.
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    let err = '';
    proc = spawn(
      PYTHON,
      [
        '-m',
        'aiosmtpd',
        '-n',
        '-l',
        `127.0.0.1:${port}`,
        '-s',
        String(maxSize),
        '-c',
        'aiosmtpd.handlers.Mailbox',
        maildir,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    await accepting(port, proc, () => err);
  };
  await start();
  return {
    port,
    start,
    async stop() {
      if (!proc || proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
    messages() {
      return JSON.parse(
        execFileSync(PYTHON, ['-c', READ_MAILDIR, maildir], { encoding: 'utf8' }),
      ) as ReceivedMail[];
    },
  };
}
