"""VGG8 for 32x32 colour images: the CIFAR-10 network of DNN+NeuroSim's examples.

Six 3x3 convolutions with "same" padding and three FC-free pooling stages, then two FC
layers (the shapes of NeuroSim's NetWork_VGG8.csv):

    conv 3->128, conv 128->128, pool      32x32 -> 16x16
    conv 128->256, conv 256->256, pool    16x16 -> 8x8
    conv 256->512, conv 512->512, pool    8x8   -> 4x4
    FC 8192 -> 1024, FC 1024 -> classes

ReLU after every layer but the last; no batch norm and no biases (as in the original).
"""
import torch.nn as nn


def _block(cin, cout, pool):
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return layers


class VGG8(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            *_block(in_channels, 128, False), *_block(128, 128, True),
            *_block(128, 256, False), *_block(256, 256, True),
            *_block(256, 512, False), *_block(512, 512, True),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * 4 * 4, 1024, bias=False), nn.ReLU(inplace=True),
            nn.Linear(1024, num_classes, bias=False),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
