package org.attnzoo.zoo.arch;

/** What every family's configuration record states about its input and output. */
public interface ImageConfig {
    int imgSize();

    int inChans();

    int numClasses();
}
