"""Fitting the logistic model on data in chunks by streaming minibatch ADVI.

Its likelihood has no finite statistic, so the rows are read: a first pass
(on the workers for Dask) counts them and learns the columns' moments and
the class labels, then :mod:`bayes_sklearn.inference.streamed_advi` draws
ADVI's minibatches from one partition at a time. NUTS is refused: each of
its 10^4-10^5 gradients would be a pass over every partition.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

from bayes_sklearn.chunked.sources import check_chunk
from bayes_sklearn.chunked.streaming import PartitionStream
from bayes_sklearn.estimators._fit_result import FitResult


class StreamedADVIMixin:
    """``fit`` of the logistic estimator on Dask collections, parquet files or iterators."""

    def _infer_chunked(self, X, y, sample_weight=None) -> FitResult:
        if self.inference not in ("advi", "fullrank_advi") or self.batch_size is None:
            raise ValueError(
                f"On data in chunks {type(self).__name__} fits by streaming minibatch ADVI: "
                "set inference='advi' (or 'fullrank_advi') and batch_size (e.g. 1000). "
                "NUTS is not offered there: each of its 10^4-10^5 gradients would need a "
                "pass over every partition, a cluster round trip each."
            )
        data, design = self._chunked_input(X, y, sample_weight)
        settings = self._inference_settings()
        stream = PartitionStream(data, shuffle=self.shuffle, seed=settings.seed)
        first = stream.first_pass()
        statistics = first.statistics
        if statistics.weight_sum == 0:
            raise ValueError("The data have no row of positive weight.")
        if design is None:
            self._set_chunked_features(data.feature_names, statistics.n_features)
            design = self._named_design()
        check_classification_targets(first.labels)
        family, n_outputs, output_names = self._set_classes(first.labels)
        per_class = (None if self.class_weight is None
                     else self._class_weights(first.label_weights))
        p = statistics.n_features
        mean, sd, magnitude = statistics.moments()
        spec = self._resolve_spec(design.column_names, None, None, family, n_outputs,
                                  design_intercept=getattr(design, "intercept", True),
                                  moments=(mean[:p], sd[:p], magnitude[:p], 0.0, 1.0))
        standardizer = spec.standardizer
        # where the kernel centres the design: the means of X_z, from the first pass
        x_z_mean = ((mean[:p] - standardizer.center) / standardizer.scale)[None, :]
        from bayes_sklearn.inference.packing import intercept_shift_for

        shift = intercept_shift_for(spec, x_z_mean)
        weighted = sample_weight is not None or per_class is not None

        def prepare(X_part, y_part, w_part):
            X_part, _, w_part = check_chunk(X_part, np.zeros(len(y_part)), w_part, p)
            # a label the first pass did not see (the data changed between passes) raises
            codes = self._encode_new_target(y_part)
            rows = (standardizer.transform(X_part) - shift, codes.astype(np.float64))
            if not weighted:
                return (*rows, None)
            w = np.ones(len(codes)) if w_part is None else w_part
            return (*rows, w if per_class is None else w * per_class[codes])

        from bayes_sklearn.inference.streamed_advi import fit_advi_streaming

        weight_sum = float(first.label_weights.sum() if per_class is None
                           else first.label_weights @ per_class)
        result = fit_advi_streaming(spec, stream.epoch, prepare, settings,
                                    n_rows=statistics.n_rows, weight_sum=weight_sum,
                                    weighted=weighted, intercept_shift=shift)
        return self._fit_result(design, spec, settings, replace(result, engine="kernel"),
                                output_names)
