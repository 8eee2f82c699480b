import { randomBytes } from 'node:crypto';
import type { AuditAction } from '@slopeguard/control-center/audit/actions.ts';
import { sqliteAuditLog } from '@slopeguard/control-center/audit/audit-log.ts';
import { ROLES, type Role, sqliteUserStore, UserError } from '@slopeguard/control-center/auth/users.ts';
import { openOperationalDb } from '@slopeguard/control-center/db/open.ts';
import { type CliCommand, parseFlags, UsageError } from '../command.ts';

const DEFAULT_DB = './data/control-center.sqlite';

const usage = `Usage: slopeguard user <action> [options]

Manages the control center's operator accounts in its operational database (the server uses
<data_dir>/control-center.sqlite). Passwords are stored only as scrypt hashes. Every change is
written to the audit trail with actor "cli".

Actions:
  add --name N --role R [--password-stdin]   add a user (roles: viewer, operator, admin); without
                                             --password-stdin a password is generated and
                                             printed once
  list [--json]                              list users
  disable --name N                           disable a user and end their sessions
  enable --name N                            enable a disabled user again; they sign in anew
                                             (sessions ended by the disable stay ended)
  passwd --name N [--password-stdin]         set a new password (ends their sessions)

Options:
  --db PATH     operational database (default ${DEFAULT_DB})
  -h, --help    this text`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const generated = () => randomBytes(15).toString('base64url');

export const userCommand: CliCommand = {
  name: 'user',
  summary: 'add, list, disable, enable operator accounts of the control center and set their passwords',
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values } = parseFlags(rest, {
      db: { type: 'string', default: DEFAULT_DB },
      name: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (!['add', 'list', 'disable', 'enable', 'passwd'].includes(action ?? ''))
      throw new UsageError('action must be add, list, disable, enable or passwd');
    const db = openOperationalDb(values.db ?? DEFAULT_DB);
    const users = sqliteUserStore(db);
    const audit = sqliteAuditLog(db);
    const log = (a: AuditAction, target: string, detail?: Record<string, unknown>) =>
      audit.append({ actor: 'cli', address: 'local', action: a, target, outcome: 'ok', detail });
    try {
      switch (action) {
        case 'add': {
          const role = values.role;
          if (!values.name || !role) throw new UsageError('add needs --name and --role');
          if (!(ROLES as readonly string[]).includes(role))
            throw new UsageError('--role must be viewer, operator or admin');
          const password = values['password-stdin'] ? await readStdin() : generated();
          const u = await users.add(values.name, role as Role, password);
          log('user.add', u.username, { role: u.role });
          console.log(`Added ${u.role} ${u.username}`);
          if (!values['password-stdin'])
            console.log(
              `  password  ${password}\nThe password is shown only now; the database keeps a hash of it.`,
            );
          return 0;
        }
        case 'list': {
          const list = users.list();
          if (values.json) console.log(JSON.stringify(list));
          else
            for (const u of list)
              console.log(
                `${u.username.padEnd(32)} ${u.role.padEnd(9)} ${new Date(u.created).toISOString()}  ${u.disabled ? 'disabled' : 'active'}`,
              );
          return 0;
        }
        case 'disable': {
          if (!values.name) throw new UsageError('disable needs --name');
          users.setDisabled(values.name, true);
          log('user.disable', values.name);
          console.log(`Disabled ${values.name}; their sessions are ended`);
          return 0;
        }
        case 'enable': {
          if (!values.name) throw new UsageError('enable needs --name');
          const was = users.get(values.name);
          users.setDisabled(values.name, false);
          log('user.enable', values.name, { wasDisabled: was?.disabled ?? false });
          console.log(
            was?.disabled
              ? `Enabled ${values.name}; they sign in again (earlier sessions stay ended)`
              : `${values.name} was not disabled; nothing changed`,
          );
          return 0;
        }
        default: {
          if (!values.name) throw new UsageError('passwd needs --name');
          const password = values['password-stdin'] ? await readStdin() : generated();
          await users.setPassword(values.name, password);
          log('user.passwd', values.name);
          console.log(`New password for ${values.name}${values['password-stdin'] ? '' : `: ${password}`}`);
          return 0;
        }
      }
    } catch (err) {
      if (err instanceof UserError) {
        console.error(`slopeguard user: ${err.message} (${err.code})`);
        return 1;
      }
      throw err;
    } finally {
      db.close();
    }
  },
};
