"""Data beyond one process's memory: mergeable statistics and chunked sources.

The gaussian linear model is fitted exactly from
:class:`GaussianStatistics` merged over chunks of rows; see
:mod:`bayes_sklearn.chunked.statistics` for the algebra and
:mod:`bayes_sklearn.chunked.sources` for the inputs ``fit`` reads in chunks
(Dask arrays and data frames, parquet files, iterators of chunks).
"""

from bayes_sklearn.chunked.statistics import GaussianStatistics, merge_statistics

__all__ = ["GaussianStatistics", "merge_statistics"]
