// The scripted labeler (bench/labeler_actions.mjs) on a short generated video, all three ways: it
// must bring every object on every frame to the bar through the real app, count what it did, and
// report the ways side by side. Its figures are the bench's business; here only that it works and
// that its counts add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the scripted labeler labels a generated video to the bar in each way and counts its clicks, keys and drags', () => {
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-actions-test-')), 'actions.json');
  const out = execFileSync(process.execPath, [path.join(repo, 'bench/labeler_actions.mjs'), '--sequences', 'generated',
    '--generated-frames', '12', '--json', json], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900000 });
  const { results } = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.deepEqual(results.map((r) => r.way), ['interpolation', 'tracker', 'tools']);
  for (const r of results) {
    assert.equal(r.objectFrames, 3 * 12);
    assert.equal(r.belowBar, 0, `${r.way}: every object-frame at IoU >= 0.85`);
    assert.ok(r.worstIou >= 0.85);
    assert.equal(r.actions, r.clicks + r.keys + r.drags);
    assert.ok(r.keyframes >= 3, `${r.way}: at least one keyframe per object`);
  }
  const [interpolation, tracker, tools] = results;
  assert.equal(interpolation.trackerRuns, 0);
  assert.ok(tracker.trackerRuns >= 3 && tools.trackerRuns >= 3, 'T after each object is drawn');
  assert.ok(tools.toolTries >= 3, 'the tools way draws with the tools');
  assert.match(out, /\| generated \(1\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
});
