"""The default network: a LeNet-5-class CNN for 28x28 grey images (Fashion-MNIST).

Its layer shapes are those of the small network in the DNN+NeuroSim V1.4 reference cases
(shared/reference/neurosim14/small_*/network.csv), so stage 2 can be compared with them:

    conv 5x5, 1 -> 32 (valid)  + ReLU + 2x2 max-pool     28x28 -> 24x24 -> 12x12
    conv 5x5, 32 -> 64 (valid) + ReLU + 2x2 max-pool     12x12 -> 8x8 -> 4x4
    FC 1024 -> 128 + ReLU
    FC 128 -> 10

Dropout is active in training only. No biases in the conv layers (the crossbar computes the
matrix product; a bias would be added by the digital periphery, which is supported, but the
reference network has none).
"""
import torch.nn as nn


class FashionCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, bias=False), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(64 * 4 * 4, 128), nn.ReLU(inplace=True),
            nn.Dropout(0.25),
            nn.Linear(128, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
