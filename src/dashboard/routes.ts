import express, { type Request, type Response, Router } from 'express';
import { MAX_RUNS_LISTED, runsQuerySchema } from '../../schemas/dashboard.js';
import { cancelRun, pauseRun, type Refusal, type RunControl, resumeRun } from '../control/run-actions.js';
import { exportDeadLetters, readDeadLetters } from '../dead-letter/export.js';
import type { Logger } from '../infra/logger.js';
import { RUN_ID_PATTERN } from '../runs/ids.js';
import { DASHBOARD_CSS, LIVE_JS } from './assets.js';
import { cellsOf } from './cells.js';
import { readLetterGroups } from './dead-letters.js';
import { html } from './html.js';
import { ASSET_CSS, ASSET_JS, page } from './layout.js';
import { runPage } from './run-page.js';
import type { RunView } from './run-view.js';
import type { RunsData } from './runs-data.js';
import { runsPage } from './runs-page.js';
import { listSchedules } from './schedules.js';

export interface RoutesOptions {
  control: RunControl;
  data: RunsData;
  allowActions: boolean;
  log?: Logger | undefined;
}

const withCells = (v: RunView) => ({ ...v, cells: cellsOf(v) });
const runIdOf = (req: Request) => {
  const id = String(req.params['id'] ?? '');
  return RUN_ID_PATTERN.test(id) ? id : undefined;
};

function notFound(res: Response, id: string, json: boolean) {
  const message = `no run ${id} (runs are kept for the retention period)`;
  if (json) res.status(404).json({ error: message });
  else
    res
      .status(404)
      .type('html')
      .send(page('Not found', html`<h1>Not found</h1><p>${message}</p><p><a href="/">Runs</a></p>`));
}

/** Pages, their JSON, the dead-letter export and (with allowActions) pause, resume and cancel. */
export function dashboardRoutes(o: RoutesOptions): Router {
  const { control, data, allowActions, log } = o;
  const router = Router();

  router.get(ASSET_CSS, (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=300').send(DASHBOARD_CSS);
  });
  router.get(ASSET_JS, (_req, res) => {
    res.type('js').set('Cache-Control', 'public, max-age=300').send(LIVE_JS);
  });

  router.get('/', async (_req, res) => {
    const limit = 20;
    const [runs, schedules] = await Promise.all([data.recent(limit), listSchedules(control)]);
    res.type('html').send(
      runsPage(
        runs.map((r) => r.view),
        schedules,
        limit,
      ),
    );
  });

  router.get('/runs/:id', async (req, res) => {
    const id = runIdOf(req);
    const found = id ? await data.one(id) : undefined;
    if (!found) return notFound(res, String(req.params['id']), false);
    const groups = await readLetterGroups(control.runs, found.record);
    const notice = typeof req.query['done'] === 'string' ? req.query['done'] : undefined;
    res.type('html').send(runPage(found.view, groups, { allowActions, notice }));
  });

  router.get('/api/runs', async (req, res) => {
    const query = runsQuerySchema.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ error: query.error.issues.map((i) => i.message).join('; ') });
      return;
    }
    const runs = await data.recent(Math.min(query.data.limit, MAX_RUNS_LISTED));
    res.json({ runs: runs.map((r) => withCells(r.view)) });
  });

  router.get('/api/runs/:id', async (req, res) => {
    const id = runIdOf(req);
    const found = id ? await data.one(id) : undefined;
    if (!found) return notFound(res, String(req.params['id']), true);
    res.json(withCells(found.view));
  });

  router.get('/runs/:id/dead-letters.:format', async (req, res) => {
    const id = runIdOf(req);
    const format = req.params['format'];
    const run = id ? await control.runs.get(id) : undefined;
    if (!run || (format !== 'csv' && format !== 'jsonl'))
      return notFound(res, String(req.params['id']), false);
    res.set({
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      // The file name the CLI gives the same export (run ids are [A-Za-z0-9._-], safe in a header).
      'Content-Disposition': `attachment; filename="braze-import-${run.runId}.dead-letters.${format}"`,
    });
    log?.info({ runId: run.runId, format }, 'dead letters downloaded from the dashboard');
    await exportDeadLetters(
      () => readDeadLetters(control.runs, run.runId, run.source),
      format,
      (text) => writeOrGiveUp(res, text),
    );
    res.end();
  });

  const act = (name: 'pause' | 'resume' | 'cancel') => async (req: Request, res: Response) => {
    if (!allowActions) {
      res.status(403).type('text').send('actions are off: start the dashboard with --allow-actions');
      return;
    }
    const id = runIdOf(req);
    if (!id) return notFound(res, String(req.params['id']), false);
    if (name === 'cancel' && req.body?.confirm !== 'yes') {
      res.status(400).type('text').send('cancel needs confirm=yes');
      return;
    }
    const result =
      name === 'pause'
        ? await pauseRun(control, id)
        : name === 'resume'
          ? await resumeRun(control, id)
          : await cancelRun(control, id, 'the dashboard');
    if (!result.ok) return refused(res, o, id, result);
    log?.info({ runId: id, action: name, client: req.ip }, `run ${name} from the dashboard`);
    res.redirect(
      303,
      `/runs/${encodeURIComponent(id)}?done=${name === 'pause' ? 'paused' : name === 'resume' ? 'resumed' : 'cancelled'}`,
    );
  };
  const form = express.urlencoded({ extended: false, limit: '1kb', parameterLimit: 5 });
  router.post('/runs/:id/pause', form, act('pause'));
  router.post('/runs/:id/resume', form, act('resume'));
  router.post('/runs/:id/cancel', form, act('cancel'));
  return router;
}

/** Backpressure for a download; a client that went away stops the export instead of leaving it waiting. */
function writeOrGiveUp(res: Response, text: string): Promise<void> | undefined {
  if (res.destroyed) throw new Error('the client went away');
  if (res.write(text)) return undefined;
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      res.off('close', gone);
      resolve();
    };
    const gone = () => {
      res.off('drain', done);
      reject(new Error('the client went away'));
    };
    res.once('drain', done);
    res.once('close', gone);
  });
}

async function refused(res: Response, o: RoutesOptions, id: string, r: Refusal) {
  o.log?.info({ runId: id, why: r.why }, 'dashboard action refused');
  const found = r.why === 'unknown' ? undefined : await o.data.one(id);
  if (!found) return notFound(res, id, false);
  const groups = await readLetterGroups(o.control.runs, found.record);
  res
    .status(409)
    .type('html')
    .send(runPage(found.view, groups, { allowActions: true, problem: r.message }));
}
