"""Nearest-neighbour baselines for EW prediction: PCA + k-NN and local linear regression."""

import numpy as np

__all__ = ["PcaKnnRegressor", "LocalLinearRegressor"]


class PcaKnnRegressor:
    """Standardise colours, project on the leading principal components, average k neighbours.

    Neighbours are found by brute force: in 4-11 dimensions with ~70,000 training galaxies it
    was about 4x faster than scikit-learn's KD-tree on our 2-core machine.

    Predicts arcsinh(EW) as the inverse-distance weighted mean of the neighbours' values (the
    PCA + k-NN method Khederlarian et al. 2024 compare against); `predict_ew` returns EW.

    Parameters
    ----------
    n_components : int
    n_neighbors : int
    """

    def __init__(self, *, n_components, n_neighbors):
        self.n_components = int(n_components)
        self.n_neighbors = int(n_neighbors)

    def fit(self, colours, ew):
        """Fit on ``(n, 11)`` colours and ``(n,)`` EW in Angstrom; returns self."""
        from sklearn.decomposition import PCA
        from sklearn.neighbors import KNeighborsRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.pipeline = make_pipeline(
            StandardScaler(), PCA(n_components=self.n_components, random_state=0),
            KNeighborsRegressor(n_neighbors=self.n_neighbors, weights="distance",
                                algorithm="brute"))
        self.pipeline.fit(np.asarray(colours, dtype=np.float64), np.arcsinh(ew))
        return self

    def predict_ew(self, colours):
        """EW in Angstrom for ``(n, 11)`` colours."""
        return np.sinh(self.pipeline.predict(np.asarray(colours, dtype=np.float64)))


class LocalLinearRegressor:
    """Weighted least-squares line fit to the k nearest neighbours of each query.

    The neighbours are found in standardised colour space and weighted by inverse distance;
    the fit predicts arcsinh(EW) at the query point (a small ridge term keeps singular
    neighbourhoods solvable).

    Parameters
    ----------
    n_neighbors : int
    ridge : float, optional
    chunk_size : int, optional
        Queries per batched solve (bounds memory).
    """

    def __init__(self, *, n_neighbors, ridge=1e-6, chunk_size=2048):
        self.n_neighbors = int(n_neighbors)
        self.ridge = float(ridge)
        self.chunk_size = int(chunk_size)

    def fit(self, colours, ew):
        """Fit on ``(n, 11)`` colours and ``(n,)`` EW in Angstrom; returns self."""
        from sklearn.neighbors import NearestNeighbors
        from sklearn.preprocessing import StandardScaler

        self.scaler = StandardScaler().fit(colours)
        self.train_features = self.scaler.transform(colours)
        self.train_targets = np.arcsinh(np.asarray(ew, dtype=np.float64))
        self.neighbours = NearestNeighbors(n_neighbors=self.n_neighbors,
                                           algorithm="brute").fit(self.train_features)
        return self

    def predict_ew(self, colours):
        """EW in Angstrom for ``(n, 11)`` colours."""
        features = self.scaler.transform(np.asarray(colours, dtype=np.float64))
        predictions = np.empty(len(features))
        n_features = features.shape[1]
        for start in range(0, len(features), self.chunk_size):
            query = features[start:start + self.chunk_size]
            distance, index = self.neighbours.kneighbors(query)
            weight = 1.0 / np.maximum(distance, 1e-12)
            # Centre on the query so the intercept is the prediction.
            design = np.concatenate([np.ones(index.shape + (1,)),
                                     self.train_features[index] - query[:, None, :]], axis=2)
            weighted = design * weight[..., None]
            normal = np.einsum("nki,nkj->nij", weighted, design)
            normal += self.ridge * np.trace(normal, axis1=1, axis2=2)[:, None, None] \
                * np.eye(n_features + 1)[None] / (n_features + 1)
            rhs = np.einsum("nki,nk->ni", weighted, self.train_targets[index])
            predictions[start:start + len(query)] = np.linalg.solve(normal, rhs[..., None])[:, 0, 0]
        # A local plane can extrapolate wildly in sparse neighbourhoods; no prediction beyond
        # the training range is credible.
        return np.sinh(np.clip(predictions, self.train_targets.min(), self.train_targets.max()))
