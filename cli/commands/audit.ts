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

Actions:
  verify                       check every record and the chain; exit 0 intact, 1 with problems
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
    });
    if (action !== 'verify' && action !== 'export') throw new UsageError('action must be verify or export');
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
      const { count, problems } = verifyAudit(audit.iterate());
      for (const p of problems) {
        const what =
          p.problem === 'edited'
            ? 'edited (its hash does not match its content)'
            : p.problem === 'missing_before'
              ? 'record(s) deleted before it (gap in sequence)'
              : 'chain broken (previous hash does not match)';
        console.log(`record ${p.seq}: ${what}`);
      }
      console.log(
        problems.length === 0
          ? `audit trail intact: ${count} records`
          : `audit trail NOT intact: ${problems.length} problem(s) in ${count} records`,
      );
      return problems.length === 0 ? 0 : 1;
    } finally {
      db.close();
    }
  },
};
