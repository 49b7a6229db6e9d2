import type { Signals, Strategy } from "../types.js";
import { clampWorkers, named } from "./bounds.js";
import { holt, linearRegression } from "./forecast.js";

/** Options of {@link predictive}. */
export interface PredictiveOptions {
  /** `regression` (the seed's least-squares line) or `holt` (double exponential smoothing). */
  method?: "regression" | "holt";
  /** How far ahead depth is forecast; default 60 s (the seed's). */
  horizonMs?: number;
  /** Predicted depth above which workers are added; default 100. */
  scaleUpThreshold?: number;
  /** Depth below which (now and forecast) one worker is removed; default 10. */
  scaleDownThreshold?: number;
  /** Relative growth of depth over the history that triggers a scale-up; default 0.3. */
  growthThreshold?: number;
  /** Holt's level smoothing α in (0, 1]; default 0.5. */
  alpha?: number;
  /** Holt's trend smoothing β in (0, 1]; default 0.3. */
  beta?: number;
}

interface Forecast {
  predicted: number;
  confidence: number;
}

function forecast(
  points: readonly Signals[],
  method: "regression" | "holt",
  horizonMs: number,
  alpha: number,
  beta: number,
): Forecast {
  const last = points[points.length - 1]!;
  if (method === "regression") {
    const xs = points.map((p) => (p.at - last.at) / 1000);
    const fit = linearRegression(
      xs,
      points.map((p) => p.depth),
    );
    return { predicted: fit.slope * (horizonMs / 1000) + fit.intercept, confidence: fit.r2 };
  }
  const { level, trend } = holt(
    points.map((p) => p.depth),
    alpha,
    beta,
  );
  const span = points.length > 1 ? (last.at - points[0]!.at) / (points.length - 1) : 0;
  const steps = span > 0 ? horizonMs / span : 0;
  return { predicted: level + steps * trend, confidence: Math.min(1, points.length / 10) };
}

/**
 * Scale on where depth is heading, not where it is: forecast depth `horizonMs` ahead from the
 * history (least squares as in the seed, or Holt's method), then add ⌈min(predicted ÷ up,
 * 3)⌉ workers when the forecast passes the threshold or depth grew by more than
 * `growthThreshold` over the window.
 */
export function predictive(options: PredictiveOptions = {}): Strategy {
  const method = options.method ?? "regression";
  const horizonMs = options.horizonMs ?? 60_000;
  const up = options.scaleUpThreshold ?? 100;
  const down = options.scaleDownThreshold ?? 10;
  const growthThreshold = options.growthThreshold ?? 0.3;
  const alpha = options.alpha ?? 0.5;
  const beta = options.beta ?? 0.3;
  return named(`predictive-${method}`, ({ signals, history, bounds }) => {
    const points = [...history, signals];
    const f = forecast(points, method, horizonMs, alpha, beta);
    const predicted = Math.max(0, f.predicted);
    const first = points[0]!;
    const growthRate = (signals.depth - first.depth) / Math.max(first.depth, 1);
    const { depth, workers } = signals;
    const numbers = {
      depth,
      workers,
      predictedDepth: predicted,
      growthRate,
      confidence: f.confidence,
      horizonMs,
    };
    if (predicted > up || (growthRate > growthThreshold && depth > down)) {
      const increment = Math.ceil(Math.max(1, Math.min(predicted / up, 3)));
      return {
        desired: clampWorkers(workers + increment, bounds),
        reason: `Predicted depth ${predicted.toFixed(0)} in ${horizonMs / 1000}s, growth ${(growthRate * 100).toFixed(0)}%`,
        numbers: { ...numbers, increment },
      };
    }
    if (predicted < down && depth < down && workers > bounds.minWorkers) {
      return {
        desired: clampWorkers(workers - 1, bounds),
        reason: `Depth ${depth} and forecast ${predicted.toFixed(0)} below ${down}`,
        numbers,
      };
    }
    return {
      desired: clampWorkers(workers, bounds),
      reason: "Forecast within thresholds",
      numbers,
    };
  });
}
