package org.attnzoo.zoo.arch;

import java.lang.reflect.RecordComponent;

/** What every family's configuration record states about its input and output. */
public interface ImageConfig {
    int imgSize();

    int inChans();

    int numClasses();

    /**
     * A copy of a configuration record with another {@code imgSize} and every other component
     * unchanged (through the record's canonical constructor, so its own checks run).
     */
    @SuppressWarnings("unchecked")
    static <C extends ImageConfig> C withImgSize(C cfg, int imgSize) {
        Class<?> type = cfg.getClass();
        if (!type.isRecord()) throw new IllegalArgumentException(type.getName() + " is not a record");
        try {
            RecordComponent[] comps = type.getRecordComponents();
            Object[] args = new Object[comps.length];
            Class<?>[] types = new Class<?>[comps.length];
            boolean found = false;
            for (int i = 0; i < comps.length; i++) {
                types[i] = comps[i].getType();
                if (comps[i].getName().equals("imgSize")) {
                    args[i] = imgSize;
                    found = true;
                } else {
                    args[i] = comps[i].getAccessor().invoke(cfg);
                }
            }
            if (!found) throw new IllegalArgumentException(type.getName() + " has no imgSize component");
            var ctor = type.getDeclaredConstructor(types);
            ctor.setAccessible(true);
            return (C) ctor.newInstance(args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            throw new IllegalStateException(c);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot copy " + type.getName() + ": " + e, e);
        }
    }
}
