r"""The test set is standardised with its own mean and standard deviation.

cell: prepare
loses: test_prepare
symptom: its own mean and std
"""


def prepare(train_images, test_images):
    def standardise(images):
        flat = images.reshape(len(images), -1)
        return torch.from_numpy(((flat - flat.mean()) / flat.std()).astype(np.float32))

    return standardise(train_images), standardise(test_images)
