package org.attnzoo.zoo.arch;

import org.attnzoo.zoo.family.convit.ConViT;
import org.attnzoo.zoo.hub.Registry;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Every architecture the zoo can build, by upstream name. */
public final class Architectures {
    private static final Map<String, Supplier<Architecture>> ALL = new LinkedHashMap<>();

    static {
        for (String v : ConViT.VARIANTS.keySet()) ALL.put(v, () -> ConViT.variant(v));
        for (String v : org.attnzoo.zoo.family.nat.NAT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.nat.NAT.variant(v));
        for (String v : org.attnzoo.zoo.family.nat.DiNATs.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.nat.DiNATs.variant(v));
        for (String v : org.attnzoo.zoo.family.shvit.SHViT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.shvit.SHViT.variant(v));
        for (String v : org.attnzoo.zoo.family.davit.DaViT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.davit.DaViT.variant(v));
        for (String v : org.attnzoo.zoo.family.crossvit.CrossViT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.crossvit.CrossViT.variant(v));
        for (String v : org.attnzoo.zoo.family.volo.Volo.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.volo.Volo.variant(v));
        for (String v : org.attnzoo.zoo.family.nat.IsotropicNAT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.nat.IsotropicNAT.variant(v));
        for (String v : org.attnzoo.zoo.family.byoanet.ByoaNet.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.byoanet.ByoaNet.variant(v));
        for (String v : org.attnzoo.zoo.family.transnext.TransNeXt.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.transnext.TransNeXt.variant(v));
        for (String v : org.attnzoo.zoo.family.lsnet.LSNet.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.lsnet.LSNet.variant(v));
        for (String v : org.attnzoo.zoo.family.overlock.OverLoCK.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.overlock.OverLoCK.variant(v));
        for (String v : org.attnzoo.zoo.family.attnet.AttNet.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.attnet.AttNet.variant(v));
        for (String v : org.attnzoo.zoo.family.spartan.SpaRTAN.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.spartan.SpaRTAN.variant(v));
        for (String v : org.attnzoo.zoo.family.ffnet.FFNet.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.ffnet.FFNet.variant(v));
        for (String v : org.attnzoo.zoo.family.casvit.CasVit.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.casvit.CasVit.variant(v));
        for (String v : org.attnzoo.zoo.family.ravlt.Ravlt.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.ravlt.Ravlt.variant(v));
        for (String v : org.attnzoo.zoo.family.hornet.HorNet.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.hornet.HorNet.variant(v));
        for (String v : org.attnzoo.zoo.family.biformer.BiFormer.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.biformer.BiFormer.variant(v));
        for (String v : org.attnzoo.zoo.family.inline.InLineDeiT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.inline.InLineDeiT.variant(v));
        for (String v : org.attnzoo.zoo.family.inline.InLinePVT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.inline.InLinePVT.variant(v));
        for (String v : org.attnzoo.zoo.family.inline.InLineSwin.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.inline.InLineSwin.variant(v));
        for (String v : org.attnzoo.zoo.family.inline.InLineCSwin.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.inline.InLineCSwin.variant(v));
        for (String v : org.attnzoo.zoo.family.cswin.CSWin.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.cswin.CSWin.variant(v));
        for (String v : org.attnzoo.zoo.family.l2vit.L2ViT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.l2vit.L2ViT.variant(v));
        for (String v : org.attnzoo.zoo.family.affnet.AFFNet.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.affnet.AFFNet.variant(v));
        for (String v : org.attnzoo.zoo.family.dhvt.DHVT.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.dhvt.DHVT.variant(v));
        for (String v : org.attnzoo.zoo.family.sparsifiner.Sparsifiner.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.sparsifiner.Sparsifiner.variant(v));
        for (String v : org.attnzoo.zoo.family.eurosat.EuroSatBalanced.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.eurosat.EuroSatBalanced.variant(v));
        for (String v : org.attnzoo.zoo.family.fan.Fan.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.fan.Fan.variant(v));
        for (String v : org.attnzoo.zoo.family.fan.FanSwin.VARIANTS.keySet()) ALL.put(v, () -> org.attnzoo.zoo.family.fan.FanSwin.variant(v));
    }

    private Architectures() {
    }

    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** Names matching a shell-style pattern ({@code *}, {@code ?}; case-insensitive), in table order. */
    public static List<String> names(String pattern) {
        java.util.regex.Pattern p = Registry.glob(pattern == null || pattern.isBlank() ? "*" : pattern.trim());
        return ALL.keySet().stream().filter(n -> p.matcher(n).matches()).toList();
    }

    /**
     * The upstream spelling of {@code name}: itself when it is a name, else the one name that equals
     * it ignoring case ({@code ravlt_t} is {@code RAVLT_T}), else null.
     */
    public static String canonical(String name) {
        if (name == null || ALL.containsKey(name)) {
            return name;
        }
        List<String> hits = ALL.keySet().stream().filter(n -> n.equalsIgnoreCase(name)).toList();
        return hits.size() == 1 ? hits.get(0) : null;
    }

    public static boolean exists(String name) {
        return canonical(name) != null;
    }

    /** The architecture called {@code name} (case-insensitive); an unknown name gets an error with the closest names. */
    public static Architecture get(String name) {
        String c = canonical(name);
        if (c == null) {
            List<String> close = Registry.closest(name, ALL.keySet());
            throw new IllegalArgumentException("unknown model '" + name + "'"
                    + (close.isEmpty() ? "" : "; did you mean " + String.join(", ", close.subList(0, Math.min(3, close.size()))) + "?")
                    + " (see `attnzoo list`)");
        }
        return ALL.get(c).get();
    }
}
