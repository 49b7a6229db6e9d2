/** A fitted line y = slope·x + intercept, with R² as a confidence in [0, 1]. */
export interface LinearFit {
  slope: number;
  intercept: number;
  r2: number;
}

/**
 * Least-squares line through the points (the seed's formula). Callers should pass x values
 * near zero (seconds relative to now, not epoch ms): with epoch ms Σx² is about 1e24 and the
 * slope loses every significant digit to cancellation.
 */
export function linearRegression(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { slope: 0, intercept: 0, r2: 0 };
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumXX = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    sumX += x;
    sumY += y;
    sumXY += x * y;
    sumXX += x * x;
  }
  const denominator = n * sumXX - sumX * sumX;
  if (n < 2 || denominator === 0) return { slope: 0, intercept: sumY / n, r2: 0 };
  const slope = (n * sumXY - sumX * sumY) / denominator;
  const intercept = (sumY - slope * sumX) / n;
  const meanY = sumY / n;
  let ssTot = 0;
  let ssRes = 0;
  for (let i = 0; i < n; i++) {
    const y = ys[i]!;
    ssTot += (y - meanY) ** 2;
    ssRes += (y - (slope * xs[i]! + intercept)) ** 2;
  }
  return { slope, intercept, r2: ssTot === 0 ? 1 : Math.max(0, 1 - ssRes / ssTot) };
}

/** Level and trend (per step) after Holt's double exponential smoothing. */
export interface HoltState {
  level: number;
  trend: number;
}

/**
 * Holt's linear (double exponential) smoothing over equally spaced observations:
 * level ← α·y + (1−α)(level + trend); trend ← β(level − previous level) + (1−β)·trend.
 * Forecast h steps ahead as level + h·trend.
 */
export function holt(ys: readonly number[], alpha: number, beta: number): HoltState {
  if (ys.length === 0) return { level: 0, trend: 0 };
  let level = ys[0]!;
  let trend = ys.length > 1 ? ys[1]! - ys[0]! : 0;
  for (let i = 1; i < ys.length; i++) {
    const previous = level;
    level = alpha * ys[i]! + (1 - alpha) * (level + trend);
    trend = beta * (level - previous) + (1 - beta) * trend;
  }
  return { level, trend };
}
