import { describe, expect, it } from 'vitest';
import { fillSquare, packColor } from './pixels';

const rgba = (p: number): number[] => [p & 0xff, (p >>> 8) & 0xff, (p >>> 16) & 0xff, p >>> 24];

describe('packColor', () => {
  it('reads hex and rgb()/rgba() as ImageData bytes', () => {
    expect(rgba(packColor('#3fb950'))).toEqual([0x3f, 0xb9, 0x50, 255]);
    expect(rgba(packColor('#abc'))).toEqual([0xaa, 0xbb, 0xcc, 255]);
    expect(rgba(packColor('rgb(1, 2, 3)'))).toEqual([1, 2, 3, 255]);
    expect(rgba(packColor('rgba(139, 148, 158, 0.35)'))).toEqual([139, 148, 158, 89]);
  });
  it('refuses what it does not read', () => {
    expect(() => packColor('red')).toThrow();
  });
});

describe('fillSquare', () => {
  it('fills a square centred on the point', () => {
    const buf = new Uint32Array(8 * 6);
    fillSquare(buf, 8, 6, 4, 3, 2, 7);
    const set = [...buf.keys()].filter((i) => buf[i] === 7).map((i) => [i % 8, Math.floor(i / 8)]);
    expect(set).toEqual([
      [3, 2],
      [4, 2],
      [3, 3],
      [4, 3],
    ]);
  });
  it('clips at the edges and ignores squares outside', () => {
    const buf = new Uint32Array(4 * 4);
    fillSquare(buf, 4, 4, 0, 0, 4, 1); // the top-left quarter of it is inside
    expect([...buf].filter((v) => v === 1)).toHaveLength(4);
    fillSquare(buf, 4, 4, 3.6, 3.6, 4, 2);
    expect(buf[15]).toBe(2);
    expect(buf[0]).toBe(1);
    fillSquare(buf, 4, 4, -10, 20, 4, 3);
    expect([...buf].includes(3)).toBe(false);
  });
});
