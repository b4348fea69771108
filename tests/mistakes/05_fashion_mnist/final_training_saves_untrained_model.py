r"""The weights are saved before training, so the file holds the untrained model.

cell: final_training
loses: test_final_model
symptom: they are exactly the initial weights of torch.manual_seed\(SEED\); build_model\(\), so they were saved before training
mode: replace
"""

torch.manual_seed(SEED)
model = build_model()
torch.save(model.state_dict(), WEIGHTS_PATH)
history = train(model, X_train, y_train, X_test, y_test, EPOCHS, BATCH_SIZE, LR, SEED)
print(f"test accuracy: {history['test_accuracy'][-1]:.4f}")
