/**
 * `image history`: one row per step that made the image, newest first, as
 * `docker history` shows it. Steps that only changed the config
 * (`empty_layer`) have size 0; every other step takes the next layer. Layers
 * the history does not account for (images made by tools that record none)
 * get a row of their own.
 */
import type { ImageDetails } from '@cspec/runtime';

export interface HistoryRow {
  readonly created: string | undefined;
  readonly createdBy: string;
  /** Bytes of the layer blob this step produced (0 for config-only steps). */
  readonly size: number;
  readonly comment: string;
  /** Digest of that layer, if the step produced one. */
  readonly layer: string | undefined;
}

export function historyRows(image: Pick<ImageDetails, 'layers' | 'history'>): HistoryRow[] {
  const rows: HistoryRow[] = [];
  let next = 0;
  for (const step of image.history) {
    const layer = step.emptyLayer ? undefined : image.layers[next++];
    rows.push({
      created: step.created,
      createdBy: step.createdBy ?? '',
      size: layer?.size ?? 0,
      comment: step.comment ?? '',
      layer: layer?.digest,
    });
  }
  for (; next < image.layers.length; next++) {
    const layer = image.layers[next]!;
    rows.push({
      created: undefined,
      createdBy: '',
      size: layer.size,
      comment: '(no history)',
      layer: layer.digest,
    });
  }
  return rows.reverse();
}
