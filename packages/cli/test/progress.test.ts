import { describe, expect, it } from 'vitest';
import { createProgress, formatInfo, formatNumber } from '../src/progress.js';
import { collector } from './helpers.js';

describe('progress reporter', () => {
  it('prints a plain line per tenth and one when done when the stream is not a terminal', () => {
    const stream = collector();
    const progress = createProgress({ stream, tty: false, prefix: 'm' });
    const task = progress.task('epoch 1', 20);
    for (let i = 0; i < 20; i++) task.tick(1, { loss: 1 / (i + 1), lr: '2e-3' });
    task.done();
    task.tick(); // after done: ignored
    progress.log('evaluating');
    progress.close();
    const lines = stream.text().trimEnd().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^\[m\] epoch 1: 2\/20 \(10%\) loss 0\.5 lr 2e-3 \d+\.\d s$/);
    expect(lines[8]).toMatch(/^\[m\] epoch 1: 18\/20 \(90%\) loss 0\.05556 lr 2e-3 \d+\.\d s$/);
    expect(lines[9]).toMatch(/^\[m\] epoch 1: done 20\/20 in \d+\.\d s$/);
    expect(lines[10]).toBe('[m] evaluating');
  });

  it('prints one line for a step that crosses several tenths, and clamps at the total', () => {
    const stream = collector();
    const task = createProgress({ stream, tty: false }).task('t', 4);
    task.tick(3);
    task.tick(5);
    task.done();
    expect(stream.text().split('\n').filter(Boolean).map((l) => l.replace(/ \d+\.\d s$/, ''))).toEqual(['t: 3/4 (75%)', 't: done 4/4 in']);
  });

  it('draws a bar with the task name, count and info on a terminal, and a line when done', async () => {
    const stream = collector();
    const progress = createProgress({ stream, tty: true, prefix: 'm' });
    const task = progress.task('train', 4);
    task.tick(2, { loss: 0.5 });
    // redraws are throttled to one per 100 ms
    await new Promise((r) => setTimeout(r, 120));
    task.tick(1, { loss: 0.25 });
    task.tick(1, { loss: 0.125 });
    task.done();
    progress.log('a message between bars');
    progress.close();
    const text = stream.text();
    expect(text).toContain('[m] train [');
    expect(text).toMatch(/\[m\] train \[[█░]{28}\] 3\/4 +75% loss 0\.25 \|/);
    expect(text).toMatch(/\[m\] train: done 4\/4 in \d+\.\d s/);
    expect(text).toContain('[m] a message between bars');
  });

  it('rejects a task without a positive total', () => {
    expect(() => createProgress({ stream: collector(), tty: false }).task('x', 0)).toThrow("progress task 'x': total must be a positive number, got 0");
  });

  it('formats numbers with four significant digits', () => {
    expect([formatNumber(3), formatNumber(0.123456), formatNumber(1234.567), formatNumber(0.0001234), formatNumber(2.5e7), formatNumber(2.5e7 + 0.5), formatNumber(NaN)]).toEqual(['3', '0.1235', '1235', '1.234e-4', '25000000', '2.500e+7', 'NaN']);
    expect(formatInfo({ loss: 0.5, step: 3, tag: 'x' })).toBe('loss 0.5 step 3 tag x');
    expect(formatInfo(undefined)).toBe('');
  });
});
