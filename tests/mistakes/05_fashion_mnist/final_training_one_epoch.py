r"""The final model is trained for one epoch instead of EPOCHS.

cell: final_training
loses: test_final_model
symptom: at least 87% is required \(the prescribed run, 10 epochs .* reaches 88-89%\)$
mode: replace
"""

torch.manual_seed(SEED)
model = build_model()
history = train(model, X_train, y_train, X_test, y_test, 1, BATCH_SIZE, LR, SEED)
torch.save(model.state_dict(), WEIGHTS_PATH)
print(f"test accuracy: {history['test_accuracy'][-1]:.4f}")
