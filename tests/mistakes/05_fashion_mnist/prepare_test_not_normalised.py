r"""Normalisation applied to the training set but not to the test set.

cell: prepare
loses: test_prepare
symptom: X_test was not standardised
"""


def prepare(train_images, test_images):
    mean, std = float(train_images.mean()), float(train_images.std())
    X_train = ((train_images.reshape(len(train_images), -1) - mean) / std).astype(np.float32)
    X_test = test_images.reshape(len(test_images), -1).astype(np.float32)
    return torch.from_numpy(X_train), torch.from_numpy(X_test)
