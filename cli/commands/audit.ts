import {
  AUDIT_CSV_HEADER,
  auditCsvLine,
  auditNdjsonLine,
  sqliteAuditLog,
  verifyAudit,
} from '@slopeguard/control-center/audit/audit-log.ts';
import { openOperationalDb } from '@slopeguard/control-center/db/open.ts';
import { type CliCommand, parseFlags, UsageError } from '../command.ts';

const DEFAULT_DB = './data/control-center.sqlite';

const usage = `Usage: slopeguard audit <action> [options]

The control center's audit trail: one record per state-changing action, each carrying a SHA-256
over the previous record, so an edited or deleted record is found.

Deleting the newest records leaves no gap in the chain. Record the head elsewhere from time to
time (\`audit head\`, e.g. hourly by deploy/systemd/slopeguard-audit-head.timer into the journal,
forwarded off the machine), and give the last one recorded to \`verify --head\`.

Actions:
  verify [--head SEQ:HASH]     check every record and the chain, and that the recorded head is
                               still there unchanged; exit 0 intact, 1 with problems
  head                         print the newest record's SEQ:HASH (0:- for an empty trail)
  export [--format F]          print the trail as ndjson (default) or csv

Options:
  --db PATH     operational database (default ${DEFAULT_DB})
  -h, --help    this text`;

export const auditCommand: CliCommand = {
  name: 'audit',
  summary: 'verify and export the control center audit trail (SHA-256 chain)',
  usage,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values } = parseFlags(rest, {
      db: { type: 'string', default: DEFAULT_DB },
      format: { type: 'string', default: 'ndjson' },
      head: { type: 'string' },
    });
    if (action !== 'verify' && action !== 'export' && action !== 'head')
      throw new UsageError('action must be verify, head or export');
    const head = values.head === undefined ? undefined : /^(\d{1,15}):([0-9a-f]{64})$/.exec(values.head);
    if (head === null) throw new UsageError('--head must be SEQ:HASH as `audit head` prints it');
    if (values.format !== 'ndjson' && values.format !== 'csv')
      throw new UsageError('--format must be ndjson or csv');
    const db = openOperationalDb(values.db ?? DEFAULT_DB);
    try {
      const audit = sqliteAuditLog(db);
      if (action === 'export') {
        if (values.format === 'csv') process.stdout.write(AUDIT_CSV_HEADER);
        for (const r of audit.iterate())
          process.stdout.write(values.format === 'csv' ? auditCsvLine(r) : auditNdjsonLine(r));
        return 0;
      }
      if (action === 'head') {
        let last: { seq: number; hash: string } | undefined;
        for (const r of audit.iterate()) last = r;
        console.log(last ? `${last.seq}:${last.hash}` : '0:-');
        return 0;
      }
      const { count, problems } = verifyAudit(audit.iterate());
      // The recorded head: truncation leaves no gap in what is left, only this can show it.
      const lines: string[] = [];
      if (head) {
        const seq = Number(head[1]);
        const stored = audit.hashOf(seq);
        if (stored === undefined)
          lines.push(
            `record ${seq} (the recorded head): gone, records were deleted from the end of the trail`,
          );
        else if (stored !== head[2])
          lines.push(`record ${seq} (the recorded head): its hash is not the recorded one`);
      }
      for (const p of problems) {
        const what =
          p.problem === 'edited'
            ? 'edited (its hash does not match its content)'
            : p.problem === 'missing_before'
              ? 'record(s) deleted before it (gap in sequence)'
              : 'chain broken (previous hash does not match)';
        console.log(`record ${p.seq}: ${what}`);
      }
      for (const l of lines) console.log(l);
      const n = problems.length + lines.length;
      console.log(
        n === 0
          ? `audit trail intact: ${count} records${head ? `, head ${head[1]} as recorded` : ''}`
          : `audit trail NOT intact: ${n} problem(s) in ${count} records`,
      );
      return n === 0 ? 0 : 1;
    } finally {
      db.close();
    }
  },
};
